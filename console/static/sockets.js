// The socket list, one page at a time, and one socket's details: its info
// and state, its groups (join, leave), send and close. A page is one list call
// (GET /api/v1/websocket/sockets, a group's members or a user's sockets) and
// an info call for each socket on it, so the list costs the same at 20
// sockets as at 20,000. The user and group filters list from the API; the
// route filter applies to the page shown, as the API has no route filter.

import * as api from "./api.js";
import { $, ago, fill, h, pool, serial, toast } from "./dom.js";
import { Pager } from "./pager.js";

const INFO_CALLS = 6; // info calls in flight at once, the browser's connections per host
const POLL_MS = 5000; // refresh period without a change on this node's stream

export class Sockets {
  /**
   * @param {{onGroups: (names: string[]) => void, openGroup: (name: string) => void}} hooks
   *   onGroups is told the groups the page's sockets are in; openGroup shows a group's members
   */
  constructor(hooks) {
    this.hooks = hooks;
    /** refresh loads the page again; calls made while one runs fold into one more. */
    this.refresh = serial(
      () => this.load(),
      (e) => {
        toast(`Listing sockets: ${e.message}`, "error");
        this.pager.failed();
      },
    );
    this.pager = new Pager("page", () => this.refresh());
    this.filter = { user: "", group: "" }; // as applied: the list comes from the API
    this.total = null; // how many sockets the user filter found
    this.rows = []; // [{id, info}] of the page, info null once the socket is gone
    this.selected = "";
    this.shown = ""; // the socket whose info the details show
    this.openHere = null; // this node's open connections, from the stats stream

    $("#page-size").addEventListener("change", () => this.first());
    $("#route-filter").addEventListener("input", () => this.render());
    $("#filter-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.applyFilter();
    });
    $("#filter-clear").addEventListener("click", () => {
      $("#route-filter").value = $("#user-filter").value = $("#group-filter").value = "";
      this.applyFilter();
    });
    $("#socket-toolbar").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = $("#open-id").value.trim();
      if (id) this.select(id, true);
    });
    $("#sockets tbody").addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (tr) this.select(tr.dataset.id);
    });
    $("#sockets tbody").addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (tr && e.key === "Enter") this.select(tr.dataset.id);
    });
    $("#details-hide").addEventListener("click", () => this.select(""));
    $("#send-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.send();
    });
    $("#close-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.close();
    });
    $("#join-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.member("PUT", $("#join-group").value.trim());
    });
    $("#details-groups").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-group]");
      if (!b) return;
      if (b.dataset.action === "leave") this.member("DELETE", b.dataset.group);
      else this.hooks.openGroup(b.dataset.group);
    });
    $("#close-all").addEventListener("click", () => this.closeAll());
    $("#user-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendUser();
    });
    $("#user-close").addEventListener("click", () => this.closeUser());
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), POLL_MS);
  }

  first() {
    this.pager.reset();
    this.refresh();
  }

  /** applyFilter lists by the user and group typed in, from the first page. */
  applyFilter() {
    this.filter = { user: $("#user-filter").value.trim(), group: $("#group-filter").value.trim() };
    this.rows = [];
    this.total = null;
    this.render();
    this.first();
  }

  async load() {
    const size = Number($("#page-size").value);
    const { user, group } = this.filter;
    const { page, cursor } = this.pager;
    let ids;
    let next = "";
    let infos = null;
    let total = null;
    if (user) {
      // A user's sockets come in one answer; they are paged here, the cursor an offset.
      ids = (await api.call("GET", `/api/v1/websocket/users/${api.seg(user)}/sockets`)).data || [];
      if (group) {
        // Both: the user's sockets that are in the group, by their info.
        const all = await pool(ids, INFO_CALLS, (id) => info(id));
        const keep = ids.map((id, i) => [id, all[i]]).filter(([, s]) => s?.groups?.includes(group));
        ids = keep.map(([id]) => id);
        infos = keep.map(([, s]) => s);
      }
      total = ids.length;
      const from = Number(cursor) || 0;
      if (from + size < ids.length) next = String(from + size);
      ids = ids.slice(from, from + size);
      infos = infos?.slice(from, from + size) ?? null;
    } else {
      const list = group ? `/api/v1/websocket/groups/${api.seg(group)}/sockets` : "/api/v1/websocket/sockets";
      const r = await api.call("GET", `${list}?limit=${size}&cursor=${api.seg(cursor)}`);
      ids = r.data || [];
      next = r.headers.get("X-Next-Cursor") || "";
    }
    if (page !== this.pager.page || user !== this.filter.user || group !== this.filter.group) return; // asked for another meanwhile: refresh() loads again
    if (ids.length === 0 && this.pager.back()) return this.load(); // every socket of this page has gone
    infos ??= await pool(ids, INFO_CALLS, (id) => info(id));
    if (!this.pager.loaded(page, next)) return;
    this.total = total;
    this.rows = ids.map((id, i) => ({ id, info: infos[i] }));
    this.hooks.onGroups([...new Set(infos.flatMap((s) => s?.groups ?? []))]);
    this.render();
    if (this.selected) await this.details();
  }

  render() {
    const filter = $("#route-filter").value.trim();
    const shown = this.rows.filter((r) => !filter || (r.info && r.info.route.includes(filter)));
    const body = $("#sockets tbody");
    body.replaceChildren(
      ...shown.map(({ id, info: s }) =>
        h(
          "tr",
          { dataset: { id }, tabindex: 0, class: [id === this.selected && "selected", !s && "gone"].filter(Boolean).join(" ") },
          h("td", { class: "mono" }, id),
          h("td", { class: "mono" }, s?.route ?? ""),
          h("td", { class: "mono" }, s?.user_id ?? ""),
          h("td", { class: "mono groups", title: s?.groups?.join("\n") ?? "" }, s?.groups?.join(", ") ?? ""),
          h("td", {}, s?.node ?? ""),
          h("td", { title: s ? new Date(s.timestamp).toISOString() : "" }, s ? ago(s.timestamp) : "closed"),
          h("td", { class: "num" }, s?.messages_in ?? ""),
          h("td", { class: "num" }, s?.messages_out ?? ""),
          h("td", { class: "num" }, s?.messages_dropped ?? ""),
        ),
      ),
    );
    $("#sockets-empty").hidden = shown.length > 0;
    this.pager.render();
    const notes = [];
    if (this.openHere !== null) notes.push(`${this.openHere} open on this node.`);
    const { user, group } = this.filter;
    const count = this.total === null ? "" : `: ${this.total} socket${this.total === 1 ? "" : "s"}`;
    if (user && group) notes.push(`User ${user} in group ${group}${count}.`);
    else if (user) notes.push(`User ${user}${count}.`);
    else if (group) notes.push(`Members of group ${group}.`);
    if (filter) notes.push(`Route filter: ${shown.length} of this page's ${this.rows.length} sockets.`);
    $("#page-note").textContent = notes.join(" ");
    $("#user-form").hidden = !user;
    $("#user-name").textContent = user;
  }

  /** stats takes a sample of this node's stats stream. */
  stats(s, changed) {
    this.openHere = s.connections_open;
    if (changed) this.refresh();
    else this.render();
  }

  /** select shows a socket's details ("" hides them); typed says the ID was typed in. */
  async select(id, typed = false) {
    this.selected = id;
    $("#details").hidden = !id;
    for (const tr of $("#sockets tbody").children) tr.classList.toggle("selected", tr.dataset.id === id);
    if (id && !(await this.details()) && typed) toast(`No socket ${id}`, "error");
  }

  /** details shows the selected socket's info, or that it has gone, and answers the info. */
  async details() {
    const id = this.selected;
    let s;
    try {
      s = await info(id);
    } catch (e) {
      toast(`Socket ${id}: ${e.message}`, "error");
      return null;
    }
    if (id !== this.selected) return s;
    $("#details-id").textContent = id;
    $("#details-gone").hidden = !!s;
    $("#send").disabled = $("#close").disabled = $("#join").disabled = !s;
    if (!s) {
      if (this.shown !== id) {
        for (const el of $("#details").querySelectorAll("dl, #details-groups")) el.replaceChildren();
        $("#details-state").textContent = "";
      }
      return null;
    }
    this.shown = id;
    fill($("#details-info"), {
      route: s.route,
      uri: s.uri,
      node: s.node,
      opened: `${new Date(s.timestamp).toISOString()} (${ago(s.timestamp)})`,
      type: s.type,
      user: s.user_id ?? "(none)",
      ...("subprotocol" in s && { subprotocol: s.subprotocol || "(none)" }),
      "script version": s.script_version,
      "messages in": s.messages_in,
      "messages out": s.messages_out,
      "messages dropped": s.messages_dropped,
    });
    const groups = s.groups || [];
    $("#details-groups").replaceChildren(
      ...groups.map((g) =>
        h(
          "li",
          {},
          h("button", { type: "button", class: "link mono", dataset: { group: g }, title: "Show the group's members" }, g),
          h("button", { type: "button", class: "leave", dataset: { group: g, action: "leave" }, title: `Leave ${g}` }, "×"),
        ),
      ),
    );
    if (!groups.length) $("#details-groups").append(h("li", { class: "note" }, "in no group"));
    $("#details-state").textContent = JSON.stringify(s.state ?? {}, null, 2);
    fill($("#details-parameters"), s.parameters || {});
    fill($("#details-headers"), s.headers || {});
    return s;
  }

  /** member puts the selected socket in a group (PUT) or takes it out (DELETE). */
  async member(method, group) {
    const id = this.selected;
    if (!id || !group) return;
    try {
      await api.call(method, `/api/v1/websocket/groups/${api.seg(group)}/sockets/${api.seg(id)}`);
      toast(method === "PUT" ? `${id} joined ${group}` : `${id} left ${group}`);
      if (method === "PUT") $("#join-group").value = "";
    } catch (e) {
      toast(`${method === "PUT" ? "Join" : "Leave"}: ${e.message}`, "error");
    }
    this.refresh();
  }

  async send() {
    const id = this.selected;
    const type = $("#send-type").value;
    const message = $("#send-message").value;
    try {
      await api.call("POST", `/api/v1/websocket/sockets/${api.seg(id)}/send`, { message, type });
      toast(`Sent ${type === "data-binary" ? "binary" : "text"} to ${id}`);
    } catch (e) {
      toast(`Send: ${e.message}`, "error");
    }
  }

  async close() {
    const id = this.selected;
    const code = $("#close-code").value;
    const reason = $("#close-reason").value;
    try {
      await api.call(
        "DELETE",
        `/api/v1/websocket/sockets/${api.seg(id)}?code=${api.seg(code)}&reason=${api.seg(reason)}`,
      );
      toast(`Closing ${id} with ${code}`);
    } catch (e) {
      toast(`Close: ${e.message}`, "error");
    }
    this.refresh();
  }

  closeAll() {
    confirmClose(
      "Close every socket?",
      "Every socket of the cluster, on every node, is closed with 1000" +
        (this.openHere !== null ? ` (${this.openHere} on this node).` : "."),
      "Close all",
      async () => {
        try {
          const { data } = await api.call("DELETE", "/api/v1/websocket/sockets");
          toast(`Closed ${data} socket${data === 1 ? "" : "s"}`);
        } catch (err) {
          toast(`Close all: ${err.message}`, "error");
        }
        this.first();
      },
    );
  }

  /** sendUser sends a message to every socket of the user filtered by. */
  async sendUser() {
    const user = this.filter.user;
    const type = $("#user-type").value;
    try {
      const { data } = await api.call("POST", `/api/v1/websocket/users/${api.seg(user)}/send`, {
        message: $("#user-message").value,
        type,
      });
      toast(`Sent to ${data} socket${data === 1 ? "" : "s"} of ${user}`);
    } catch (e) {
      toast(`Send to ${user}: ${e.message}`, "error");
    }
  }

  /** closeUser closes every socket of the user filtered by, after a confirmation. */
  closeUser() {
    const user = this.filter.user;
    confirmClose(`Close ${user}'s sockets?`, `Every socket of ${user}, on every node, is closed with 1000.`, "Close them", async () => {
      try {
        const { data } = await api.call("DELETE", `/api/v1/websocket/users/${api.seg(user)}/sockets`);
        toast(`Closed ${data} socket${data === 1 ? "" : "s"} of ${user}`);
      } catch (e) {
        toast(`Close ${user}'s sockets: ${e.message}`, "error");
      }
      this.first();
    });
  }
}

/** confirmClose asks before closing, and runs action once confirmed. */
function confirmClose(title, message, ok, action) {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-message").textContent = message;
  $("#confirm-ok").textContent = ok;
  $("#confirm-cancel").onclick = () => dialog.close();
  $("#confirm-form").onsubmit = (e) => {
    e.preventDefault();
    dialog.close();
    action();
  };
  dialog.showModal();
  $("#confirm-cancel").focus();
}

/** info answers a socket's info, or null when it has gone. */
export async function info(id) {
  try {
    return (await api.call("GET", `/api/v1/websocket/sockets/${api.seg(id)}`)).data;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}
