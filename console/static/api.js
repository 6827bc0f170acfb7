// The admin REST API, as the console calls it. Every request goes through
// request(), which sends the admin token and asks for one again on a 401.
// Paths are resolved against the admin listener's root, one level above the
// console (so a proxy that adds a path prefix keeps working).

const TOKEN_KEY = "wsgw.admin.token";
const root = new URL("../", document.baseURI);

/** An answer other than 2xx, in the API's {type, error, status} shape. */
export class APIError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

let askForToken = null; // (message) => Promise<string>, set by onTokenNeeded
let asking = null; // the pending prompt, shared by every request refused meanwhile

/** fn(message) shows the token prompt and resolves with the token given. */
export function onTokenNeeded(fn) {
  askForToken = fn;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function promptToken(refused) {
  if (!asking) {
    const message = refused ? "The gateway refused that token." : "";
    asking = askForToken(message).then((t) => {
      sessionStorage.setItem(TOKEN_KEY, t);
      asking = null;
    });
  }
  return asking;
}

/** The URL of an API path such as "/api/v1/endpoints". */
export function url(path) {
  return new URL(path.replace(/^\//, ""), root);
}

/**
 * request sends one call and answers the Response; a 401 shows the token
 * prompt and sends the call again with the token given.
 */
export async function request(method, path, body, signal) {
  for (;;) {
    const sent = token();
    const headers = {};
    if (sent) headers.Authorization = "Bearer " + sent;
    const init = { method, headers, signal, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url(path), init);
    if (res.status !== 401) return res;
    await res.body?.cancel();
    if (sent !== token()) continue; // another call has been given a new token meanwhile
    await promptToken(sent !== "");
  }
}

/** call answers {data, headers, status}, data decoded from JSON; errors throw APIError. */
export async function call(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  let data = null;
  if (text && (res.headers.get("Content-Type") || "").startsWith("application/json")) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    throw new APIError(res.status, data?.type || "", data?.error || text || res.statusText);
  }
  return { data, headers: res.headers, status: res.status };
}

/** seg encodes one path segment: a socket ID or an endpoint path (/chat/{room} is %2Fchat%2F%7Broom%7D). */
export const seg = encodeURIComponent;

/**
 * stream reads a Server-Sent Events path with the token (EventSource cannot
 * send headers), calling onEvent(name, data) for each event and
 * onState("live" | "down") as the connection comes and goes. It reconnects
 * for as long as the page is open.
 */
export async function stream(path, onEvent, onState) {
  let retry = 2000;
  for (;;) {
    try {
      const res = await request("GET", path);
      if (!res.ok) throw new APIError(res.status, "", res.statusText);
      onState("live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon === 0) continue; // a comment
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") name = value;
            else if (field === "data") data.push(value);
            else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
          }
          if (data.length) onEvent(name, data.join("\n"));
        }
      }
    } catch (e) {
      console.warn("stream", path, e);
    }
    onState("down");
    await new Promise((r) => setTimeout(r, retry));
  }
}
