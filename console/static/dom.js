// Small DOM helpers. Everything a socket or a script brings (headers, routes,
// messages) goes into the page as text, never as HTML.

/** h builds an element: h("td", {class: "num"}, "42"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** fill replaces a <dl>'s content with the pairs of an object. */
export function fill(dl, pairs) {
  dl.replaceChildren(
    ...Object.entries(pairs).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === "" ? "(empty)" : v)]),
  );
}

let toastTimer = 0;

/** toast shows a short message at the bottom; kind "error" shows it in red, longer. */
export function toast(message, kind = "ok") {
  const el = $("#toast");
  el.textContent = message;
  el.className = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 8000 : 4000);
}

/** ago tells how long ago a time in ms since the epoch was: "12s", "3m", "2h". */
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + "s ago";
  if (s < 3600) return Math.floor(s / 60) + "m ago";
  if (s < 86400) return Math.floor(s / 3600) + "h ago";
  return Math.floor(s / 86400) + "d ago";
}

/** pool runs fn over items with at most n calls at a time, answering results in order. */
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * serial wraps an async fn so that one run goes at a time: calls made while
 * it runs fold into one more run after it. A run that throws goes to onError.
 */
export function serial(fn, onError) {
  let busy = false;
  let again = false;
  return async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await fn();
      } while (again);
    } catch (e) {
      onError(e);
    } finally {
      busy = false;
    }
  };
}
