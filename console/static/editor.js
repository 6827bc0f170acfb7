// A light code editor: a <textarea> beside a gutter of line numbers, with
// Tab indenting, Enter keeping the indentation, and one error line marked
// (the gutter number and a bar across the line) and scrolled into view.

import { h } from "./dom.js";

export class Editor {
  /** @param {HTMLElement} root an empty element the editor fills */
  constructor(root, onChange = () => {}) {
    this.lines = h("div", { class: "gutter-lines" });
    this.gutter = h("div", { class: "gutter", "aria-hidden": "true" }, this.lines);
    this.bar = h("div", { class: "error-line", hidden: true });
    this.area = h("textarea", { spellcheck: "false", wrap: "off", autocapitalize: "off", "aria-label": "Script" });
    root.replaceChildren(this.gutter, h("div", { class: "code" }, this.bar, this.area));
    this.count = 0;
    this.errorLine = 0;
    this.area.addEventListener("input", () => {
      this.clearError();
      this.renumber();
      onChange();
    });
    this.area.addEventListener("scroll", () => this.sync());
    this.area.addEventListener("keydown", (e) => this.key(e));
    this.renumber();
  }

  get value() {
    return this.area.value;
  }

  set value(text) {
    this.area.value = text;
    this.area.scrollTop = 0;
    this.area.scrollLeft = 0;
    this.clearError();
    this.renumber();
  }

  /** markError marks line (1-based) and scrolls it into view, the caret at col. */
  markError(line, col) {
    const lines = this.area.value.split("\n");
    line = Math.min(Math.max(1, line), lines.length);
    this.clearError();
    this.errorLine = line;
    this.lines.children[line - 1]?.classList.add("error");
    this.bar.hidden = false;
    let offset = 0;
    for (let i = 0; i < line - 1; i++) offset += lines[i].length + 1;
    const caret = offset + Math.min(Math.max(0, col - 1), lines[line - 1].length);
    this.area.focus({ preventScroll: true });
    this.area.setSelectionRange(caret, caret);
    const lh = this.lineHeight();
    this.area.scrollTop = Math.max(0, (line - 1) * lh - this.area.clientHeight / 3);
    this.sync();
  }

  clearError() {
    if (!this.errorLine) return;
    this.lines.children[this.errorLine - 1]?.classList.remove("error");
    this.errorLine = 0;
    this.bar.hidden = true;
  }

  lineHeight() {
    return parseFloat(getComputedStyle(this.area).lineHeight) || 20;
  }

  renumber() {
    const n = this.area.value.split("\n").length;
    if (n !== this.count) {
      const frag = document.createDocumentFragment();
      for (let i = this.count + 1; i <= n; i++) frag.append(h("div", {}, i));
      if (n > this.count) this.lines.append(frag);
      else while (this.lines.children.length > n) this.lines.lastChild.remove();
      this.count = n;
    }
    this.sync();
  }

  sync() {
    this.gutter.scrollTop = this.area.scrollTop;
    if (this.errorLine) {
      const pad = parseFloat(getComputedStyle(this.area).paddingTop) || 0;
      this.bar.style.top = `${pad + (this.errorLine - 1) * this.lineHeight() - this.area.scrollTop}px`;
    }
  }

  key(e) {
    const a = this.area;
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      insert(a, "  ");
    } else if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const start = a.value.lastIndexOf("\n", a.selectionStart - 1) + 1;
      const indent = /^[ \t]*/.exec(a.value.slice(start, a.selectionStart))[0];
      e.preventDefault();
      insert(a, "\n" + indent);
    }
  }
}

/** insert types text at the caret, keeping the browser's undo history where it can. */
function insert(area, text) {
  if (!document.execCommand("insertText", false, text)) {
    area.setRangeText(text, area.selectionStart, area.selectionEnd, "end");
    area.dispatchEvent(new Event("input"));
  }
}
