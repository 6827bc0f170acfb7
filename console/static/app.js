// The console's entry point: the token prompt, the tabs, the stats stream
// that drives the charts and the lists, and the three panels.

import * as api from "./api.js";
import { Chart } from "./charts.js";
import { $, h } from "./dom.js";
import { Endpoints } from "./endpoints.js";
import { Groups } from "./groups.js";
import { Sockets } from "./sockets.js";

// The token prompt: shown by the first call the API refuses, shared by all
// calls refused while it is open, and impossible to dismiss without a token.
api.onTokenNeeded(
  (message) =>
    new Promise((resolve) => {
      const dialog = $("#token-dialog");
      $("#token-message").textContent = message;
      $("#token-input").value = "";
      $("#token-form").onsubmit = (e) => {
        e.preventDefault();
        const t = $("#token-input").value.trim();
        if (!t) return;
        dialog.close();
        $("#forget-token").hidden = false;
        resolve(t);
      };
      dialog.showModal();
      $("#token-input").focus();
    }),
);
$("#token-dialog").addEventListener("cancel", (e) => e.preventDefault());
$("#forget-token").hidden = !api.token();
$("#forget-token").addEventListener("click", () => {
  api.forgetToken();
  location.reload();
});

/** showTab shows the panel of one tab ("sockets", "groups", "endpoints"). */
function showTab(name) {
  for (const t of document.querySelectorAll("[role=tab]")) {
    const on = t.id === "tab-" + name;
    t.setAttribute("aria-selected", String(on));
    $("#" + t.getAttribute("aria-controls")).hidden = !on;
  }
}
for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => {
    showTab(tab.id.replace(/^tab-/, ""));
    if (tab.id === "tab-groups") groups.refresh();
  });
}

// The group names offered by the group inputs: those seen on the socket list.
const seenGroups = new Set();
const MAX_SEEN = 500;
const sockets = new Sockets({
  onGroups(names) {
    const before = seenGroups.size;
    for (const n of names) if (seenGroups.size < MAX_SEEN) seenGroups.add(n);
    if (seenGroups.size !== before) {
      $("#groups").replaceChildren(...[...seenGroups].sort().map((g) => h("option", { value: g })));
    }
  },
  openGroup(name) {
    showTab("groups");
    groups.show(name);
  },
});
const groups = new Groups((id) => {
  showTab("sockets");
  sockets.select(id);
});
const endpoints = new Endpoints((paths) => $("#routes").replaceChildren(...paths.map((p) => h("option", { value: p }))));
sockets.start();
endpoints.load();

const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const connections = new Chart($("#chart-connections"), [{ color: color("--accent") }]);
const messages = new Chart($("#chart-messages"), [
  { color: color("--in"), width: 3.5 }, // under out, which is often the same
  { color: color("--out") },
  { color: color("--dropped") },
]);

let last = null;
api.stream(
  "/api/v1/stats/stream",
  (name, data) => {
    if (name !== "stats") return;
    const s = JSON.parse(data);
    connections.push([s.connections_open]);
    $("#open-now").textContent = s.connections_open;
    if (s.seconds > 0) {
      const r = s.per_second;
      messages.push([r.messages_in, r.messages_out, r.messages_dropped]);
      $("#rate-now").textContent = `${fmt(r.messages_in)} in · ${fmt(r.messages_out)} out`;
    }
    const changed =
      last !== null &&
      (s.connections_opened_total !== last.connections_opened_total ||
        s.connections_closed_total !== last.connections_closed_total);
    sockets.stats(s, changed);
    groups.stats(changed);
    last = s;
  },
  (state) => {
    const live = $("#live");
    live.textContent = state === "live" ? "live" : "reconnecting…";
    live.className = "live " + (state === "live" ? "on" : "off");
  },
);

function fmt(v) {
  return v >= 100 ? Math.round(v) : +v.toFixed(1);
}
