// The socket list, one page at a time, and one socket's details, send and
// close. A page is one GET /api/v1/websocket/sockets?limit=&cursor= and an
// info call for each socket on it, so the list costs the same at 20 sockets
// as at 20,000. The route filter applies to the page shown: the API has no
// filter of its own.

import * as api from "./api.js";
import { $, ago, fill, h, pool, toast } from "./dom.js";

const INFO_CALLS = 6; // info calls in flight at once, the browser's connections per host
const POLL_MS = 5000; // refresh period without a change on this node's stream

export class Sockets {
  constructor() {
    this.cursors = [""]; // cursors[i] fetches page i
    this.page = 0;
    this.next = "";
    this.rows = []; // [{id, info}] of the page, info null once the socket is gone
    this.selected = "";
    this.shown = ""; // the socket whose info the details show
    this.busy = false;
    this.again = false;
    this.openHere = null; // this node's open connections, from the stats stream

    $("#page-size").addEventListener("change", () => this.first());
    $("#page-first").addEventListener("click", () => this.first());
    $("#page-prev").addEventListener("click", () => this.turn(-1));
    $("#page-next").addEventListener("click", () => this.turn(1));
    $("#route-filter").addEventListener("input", () => this.render());
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
    $("#close-all").addEventListener("click", () => this.closeAll());
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), POLL_MS);
  }

  /** refresh loads the page again; calls made while one runs fold into one more. */
  async refresh() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.load();
      } while (this.again);
    } catch (e) {
      toast(`Listing sockets: ${e.message}`, "error");
    } finally {
      this.busy = false;
    }
  }

  first() {
    this.cursors = [""];
    this.page = 0;
    this.refresh();
  }

  turn(by) {
    const page = this.page + by;
    if (page < 0 || (by > 0 && !this.next)) return;
    if (by > 0) this.cursors[page] = this.next;
    this.page = page;
    this.refresh();
  }

  async load() {
    const size = Number($("#page-size").value);
    const cursor = this.cursors[this.page];
    const { data, headers } = await api.call(
      "GET",
      `/api/v1/websocket/sockets?limit=${size}&cursor=${api.seg(cursor)}`,
    );
    const ids = data || [];
    if (ids.length === 0 && this.page > 0) {
      // every socket of this page has gone: show the one before
      this.page--;
      this.cursors.length = this.page + 1;
      return this.load();
    }
    this.next = headers.get("X-Next-Cursor") || "";
    this.cursors.length = this.page + 1;
    const infos = await pool(ids, INFO_CALLS, (id) => info(id));
    this.rows = ids.map((id, i) => ({ id, info: infos[i] }));
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
          h("td", {}, s?.node ?? ""),
          h("td", { title: s ? new Date(s.timestamp).toISOString() : "" }, s ? ago(s.timestamp) : "closed"),
          h("td", { class: "num" }, s?.messages_in ?? ""),
          h("td", { class: "num" }, s?.messages_out ?? ""),
          h("td", { class: "num" }, s?.messages_dropped ?? ""),
        ),
      ),
    );
    $("#sockets-empty").hidden = shown.length > 0;
    $("#page-label").textContent = `page ${this.page + 1}`;
    $("#page-prev").disabled = $("#page-first").disabled = this.page === 0;
    $("#page-next").disabled = !this.next;
    const notes = [];
    if (this.openHere !== null) notes.push(`${this.openHere} open on this node.`);
    if (filter) notes.push(`Route filter: ${shown.length} of this page's ${this.rows.length} sockets.`);
    $("#page-note").textContent = notes.join(" ");
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
    $("#send").disabled = $("#close").disabled = !s;
    if (!s) {
      if (this.shown !== id) for (const dl of $("#details").querySelectorAll("dl")) dl.replaceChildren();
      return null;
    }
    this.shown = id;
    fill($("#details-info"), {
      route: s.route,
      uri: s.uri,
      node: s.node,
      opened: `${new Date(s.timestamp).toISOString()} (${ago(s.timestamp)})`,
      type: s.type,
      "script version": s.script_version,
      "messages in": s.messages_in,
      "messages out": s.messages_out,
      "messages dropped": s.messages_dropped,
    });
    fill($("#details-parameters"), s.parameters || {});
    fill($("#details-headers"), s.headers || {});
    return s;
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
    const dialog = $("#confirm-dialog");
    $("#confirm-message").textContent =
      "Every socket of the cluster, on every node, is closed with 1000" +
      (this.openHere !== null ? ` (${this.openHere} on this node).` : ".");
    $("#confirm-cancel").onclick = () => dialog.close();
    $("#confirm-form").onsubmit = async (e) => {
      e.preventDefault();
      dialog.close();
      try {
        const { data } = await api.call("DELETE", "/api/v1/websocket/sockets");
        toast(`Closed ${data} socket${data === 1 ? "" : "s"}`);
      } catch (err) {
        toast(`Close all: ${err.message}`, "error");
      }
      this.first();
    };
    dialog.showModal();
    $("#confirm-cancel").focus();
  }
}

/** info answers a socket's info, or null when it has gone. */
async function info(id) {
  try {
    return (await api.call("GET", `/api/v1/websocket/sockets/${api.seg(id)}`)).data;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// ---- Users and groups -------------------------------------------------
// The place for the console's users and groups, to fill in once the REST API
// has them (GET /api/v1/websocket/users/{user_id}/sockets and
// /groups/{group}/sockets, the groups' send, PUT/DELETE of a member, and the
// info fields state, user_id, groups and subprotocol):
//  - the toolbar gets user and group filters beside the route filter; unlike
//    it, they list from the server (a user's or a group's sockets), so they
//    replace load()'s page rather than filter it;
//  - details() shows state, user_id, groups and subprotocol, and offers to
//    add the socket to a group or remove it from one;
//  - a Groups tab lists a group's members and publishes to it.
// Nothing here calls those paths before they exist.
