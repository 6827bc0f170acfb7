// Endpoints and their versions, a script editor that deploys, and a new
// endpoint. A refused script's error names line:col; the editor marks that
// line and scrolls to it.

import * as api from "./api.js";
import { $, h, toast } from "./dom.js";
import { Editor } from "./editor.js";

const HANDLER = "event_handler"; // the event handler's row: every endpoint path starts with /

const TEMPLATE = `// websocketInfo carries the event: type is "open", "data" or "close".
if (websocketInfo.type === "open") {
  websocketInfo.send("Welcome");
} else if (websocketInfo.type === "data") {
  websocketInfo.send(websocketInfo.message, websocketInfo.message_type);
}
`;

/** compileError finds line and column in a refused script's message ("...: /chat:3:9: SyntaxError ..."). */
export function compileError(message) {
  const m = /does not compile: .*?:(\d+):(\d+): /.exec(message);
  return m ? { line: Number(m[1]), col: Number(m[2]) } : null;
}

export class Endpoints {
  /** @param {(paths: string[]) => void} onPaths is told the endpoint paths after each listing */
  constructor(onPaths) {
    this.onPaths = onPaths;
    this.current = null; // the path being edited, HANDLER, or "" for a new endpoint
    this.loaded = ""; // the script as loaded or last deployed
    this.paths = new Set(); // the endpoint paths of the last listing
    this.editor = new Editor($("#editor"), () => this.dirty());
    $("#new-endpoint").addEventListener("click", () => this.create());
    $("#endpoints tbody").addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-path]");
      if (tr) this.open(tr.dataset.path);
    });
    $("#endpoints tbody").addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-path]");
      if (tr && e.key === "Enter") this.open(tr.dataset.path);
    });
    $("#deploy-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.deploy();
    });
    $("#editor").addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        this.deploy();
      }
    });
  }

  async load() {
    let list;
    let handler = null;
    try {
      list = (await api.call("GET", "/api/v1/endpoints")).data || [];
      handler = await api.call("GET", "/api/v1/event_handler").then(
        (r) => r.data,
        (e) => (e.status === 404 ? null : Promise.reject(e)),
      );
    } catch (e) {
      toast(`Listing endpoints: ${e.message}`, "error");
      return;
    }
    const row = (key, label, d) =>
      h(
        "tr",
        { dataset: { path: key }, tabindex: 0, class: key === this.current ? "selected" : "" },
        h("td", { class: "mono" }, label),
        h("td", { class: "num" }, d.version),
        h("td", { title: d.deployed_at ? `deployed ${d.deployed_at}` : "" }, d.source),
      );
    const rows = list.map((d) => row(d.path, d.path, d));
    if (handler) rows.push(row(HANDLER, "(event handler)", handler));
    $("#endpoints tbody").replaceChildren(...rows);
    this.paths = new Set(list.map((d) => d.path));
    this.onPaths([...this.paths]);
  }

  /** open loads an endpoint's script (HANDLER: the event handler's) into the editor. */
  async open(key) {
    if (!this.leave()) return;
    const path = key === HANDLER ? "/api/v1/event_handler" : `/api/v1/endpoints/${api.seg(key)}`;
    let d;
    try {
      d = (await api.call("GET", path)).data;
    } catch (e) {
      toast(`Opening ${key === HANDLER ? "the event handler" : key}: ${e.message}`, "error");
      return;
    }
    this.current = key;
    this.show(d, key === HANDLER ? "(event handler)" : d.path, true);
  }

  create() {
    if (!this.leave()) return;
    this.current = "";
    this.show({ script: TEMPLATE }, "", false);
    $("#edit-path").focus();
  }

  show(d, path, fixed) {
    for (const tr of $("#endpoints tbody").children) tr.classList.toggle("selected", tr.dataset.path === this.current);
    $("#edit").hidden = false;
    $("#edit-path").value = path;
    $("#edit-path").readOnly = fixed;
    $("#edit-path").placeholder = fixed ? "" : "/chat/{room}";
    this.meta(d);
    this.loaded = d.script || "";
    this.editor.value = this.loaded;
    $("#deploy-error").hidden = true;
    this.dirty();
  }

  meta(d) {
    $("#edit-meta").textContent = d.version
      ? `version ${d.version}, from ${d.source}, deployed ${new Date(d.deployed_at).toLocaleString()}`
      : "new endpoint";
    $("#edit-origins").textContent = d.allowed_origins?.length
      ? `Allowed origins: ${d.allowed_origins.join("  ")} (kept by a deploy)`
      : "";
  }

  /** leave answers whether the editor may show another script: unchanged, or the user lets the changes go. */
  leave() {
    return this.current === null || this.editor.value === this.loaded || confirm("Discard the changes to this script?");
  }

  dirty() {
    $("#edit-dirty").hidden = this.editor.value === this.loaded;
  }

  async deploy() {
    if (this.current === null) return;
    const handler = this.current === HANDLER;
    const path = handler ? "" : this.current || $("#edit-path").value.trim();
    if (!handler && !path.startsWith("/")) {
      this.fail({ message: "The path must start with /, e.g. /chat/{room}" });
      return;
    }
    if (this.current === "" && this.paths.has(path)) {
      this.fail({ message: `${path} exists already: open it from the list to change its script` });
      return;
    }
    const script = this.editor.value;
    try {
      const r = await api.call("PUT", handler ? "/api/v1/event_handler" : `/api/v1/endpoints/${api.seg(path)}`, {
        script,
      });
      $("#deploy-error").hidden = true;
      this.editor.clearError();
      this.loaded = script;
      this.current = handler ? HANDLER : path;
      $("#edit-path").value = handler ? "(event handler)" : path;
      $("#edit-path").readOnly = true;
      this.meta(r.data);
      this.dirty();
      toast(`${r.status === 201 ? "Created" : "Deployed"} ${handler ? "the event handler" : path}, version ${r.data.version}`);
      await this.load();
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e) {
    const box = $("#deploy-error");
    box.textContent = e.message;
    box.hidden = false;
    const at = compileError(e.message);
    if (at) this.editor.markError(at.line, at.col);
  }
}
