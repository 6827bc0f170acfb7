// The Groups tab: a group's members a page at a time (each with its route,
// user and node), adding a socket to the group and taking one out, publishing
// to the group with the members ticked left out, and broadcasting to every
// socket. A group is only the sockets that joined it: the API has no list of
// groups, so a group is named here (the names the socket list has seen are
// offered).

import * as api from "./api.js";
import { $, h, pool, serial, toast } from "./dom.js";
import { Pager } from "./pager.js";
import { info } from "./sockets.js";

const INFO_CALLS = 6;
const PAGE = 50;

export class Groups {
  /** @param {(id: string) => void} openSocket shows a socket's details */
  constructor(openSocket) {
    this.openSocket = openSocket;
    /** refresh loads the page again when a group is shown; calls made while one runs fold into one more. */
    this.refresh = serial(
      async () => {
        if (this.group) await this.load();
      },
      (e) => {
        toast(`Members of ${this.group}: ${e.message}`, "error");
        this.pager.failed();
      },
    );
    this.pager = new Pager("members", () => this.refresh());
    this.group = ""; // the group shown
    this.rows = [];
    this.excluded = new Set(); // socket IDs left out of Publish

    $("#group-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.show($("#group-name").value.trim());
    });
    $("#members tbody").addEventListener("change", (e) => {
      const box = e.target.closest("input[data-exclude]");
      if (!box) return;
      if (box.checked) this.excluded.add(box.dataset.exclude);
      else this.excluded.delete(box.dataset.exclude);
      this.note();
    });
    $("#members tbody").addEventListener("click", (e) => {
      const remove = e.target.closest("button[data-remove]");
      if (remove) return this.member("DELETE", remove.dataset.remove);
      const open = e.target.closest("button[data-open]");
      if (open) this.openSocket(open.dataset.open);
    });
    $("#member-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.member("PUT", $("#member-id").value.trim());
    });
    $("#publish-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.publish();
    });
    $("#broadcast-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.broadcast();
    });
    this.render();
  }

  /** show lists a group's members from the first page. */
  show(name) {
    $("#group-name").value = name;
    if (name !== this.group) this.excluded.clear();
    this.group = name;
    this.rows = [];
    this.pager.reset();
    this.refresh();
  }

  async load() {
    const group = this.group;
    const { page, cursor } = this.pager;
    const r = await api.call(
      "GET",
      `/api/v1/websocket/groups/${api.seg(group)}/sockets?limit=${PAGE}&cursor=${api.seg(cursor)}`,
    );
    const ids = r.data || [];
    if (group !== this.group || page !== this.pager.page) return; // asked for another meanwhile: refresh() loads again
    if (ids.length === 0 && this.pager.back()) return this.load();
    const infos = await pool(ids, INFO_CALLS, (id) => info(id));
    if (group !== this.group || !this.pager.loaded(page, r.headers.get("X-Next-Cursor") || "")) return;
    this.rows = ids.map((id, i) => ({ id, info: infos[i] }));
    this.render();
  }

  render() {
    // The rows are built again only when they change, so that a refresh
    // does not take a checkbox or a button from under the pointer.
    const key = JSON.stringify([this.group, this.rows.map(({ id, info: s }) => [id, s?.route, s?.user_id, s?.node])]);
    if (key !== this.rendered) this.renderRows();
    this.rendered = key;
    $("#members-empty").hidden = !this.group || this.rows.length > 0;
    this.pager.render();
    $("#publish-group").textContent = this.group || "the group";
    $("#publish").disabled = $("#member-add").disabled = !this.group;
    this.note();
  }

  renderRows() {
    $("#members tbody").replaceChildren(
      ...this.rows.map(({ id, info: s }) =>
        h(
          "tr",
          { dataset: { id }, class: s ? "" : "gone" },
          h(
            "td",
            {},
            h("input", {
              type: "checkbox",
              dataset: { exclude: id },
              checked: this.excluded.has(id),
              "aria-label": `Leave ${id} out of Publish`,
            }),
          ),
          h("td", {}, h("button", { type: "button", class: "link mono", dataset: { open: id }, title: "Show the socket" }, id)),
          h("td", { class: "mono" }, s?.route ?? ""),
          h("td", { class: "mono" }, s?.user_id ?? ""),
          h("td", {}, s?.node ?? "closed"),
          h(
            "td",
            {},
            h("button", { type: "button", class: "leave", dataset: { remove: id }, title: `Take ${id} out of the group` }, "Remove"),
          ),
        ),
      ),
    );
  }

  note() {
    const n = this.excluded.size;
    $("#publish-exclude").textContent = n ? `except ${n} ticked` : "";
    if (this.group) {
      $("#members-note").textContent = `Members of ${this.group}, on every node${this.pager.next || this.pager.page ? `, ${PAGE} a page` : ""}. Tick a member to leave it out of Publish.`;
    }
  }

  /**
   * stats takes a sample of this node's stream (one a second): while the tab
   * shows, the members load again when this node opened or closed a socket,
   * and every 5 samples for the other nodes.
   */
  stats(changed) {
    this.samples = (this.samples || 0) + 1;
    if (!$("#panel-groups").hidden && (changed || this.samples % 5 === 0)) this.refresh();
  }

  /** member puts a socket in the group shown (PUT) or takes it out (DELETE). */
  async member(method, id) {
    const group = this.group;
    if (!group || !id) return;
    try {
      await api.call(method, `/api/v1/websocket/groups/${api.seg(group)}/sockets/${api.seg(id)}`);
      toast(method === "PUT" ? `${id} joined ${group}` : `${id} left ${group}`);
      if (method === "PUT") $("#member-id").value = "";
      else this.excluded.delete(id);
    } catch (e) {
      toast(`${method === "PUT" ? "Add" : "Remove"}: ${e.message}`, "error");
    }
    this.refresh();
  }

  async publish() {
    const group = this.group;
    const exclude = [...this.excluded];
    const body = { message: $("#publish-message").value, type: $("#publish-type").value };
    if (exclude.length) body.exclude = exclude;
    try {
      await api.call("POST", `/api/v1/websocket/groups/${api.seg(group)}/send`, body);
      toast(`Published to ${group}` + (exclude.length ? ` except ${exclude.length}` : ""));
    } catch (e) {
      toast(`Publish: ${e.message}`, "error");
    }
  }

  async broadcast() {
    const exclude = $("#broadcast-exclude").value.split(/[\s,]+/).filter(Boolean);
    const body = { message: $("#broadcast-message").value, type: $("#broadcast-type").value };
    if (exclude.length) body.exclude = exclude;
    try {
      await api.call("POST", "/api/v1/websocket/send", body);
      toast("Broadcast to every socket" + (exclude.length ? ` except ${exclude.length}` : ""));
    } catch (e) {
      toast(`Broadcast: ${e.message}`, "error");
    }
  }
}
