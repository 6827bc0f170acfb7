// Paging over an API that answers one page and, when more follow, the
// cursor of the next (X-Next-Cursor). The cursors of the pages seen are kept,
// so that Prev goes back although the API only goes forward.

import { $ } from "./dom.js";

export class Pager {
  /**
   * @param {string} prefix the ids of the controls: prefix-first, -prev, -next, -label
   * @param {() => void} onTurn loads the page now current
   */
  constructor(prefix, onTurn) {
    this.prefix = prefix;
    this.reset();
    $(`#${prefix}-first`).addEventListener("click", () => {
      this.reset();
      onTurn();
    });
    $(`#${prefix}-prev`).addEventListener("click", () => this.turn(-1) && onTurn());
    $(`#${prefix}-next`).addEventListener("click", () => this.turn(1) && onTurn());
  }

  reset() {
    this.cursors = [""]; // cursors[i] fetches page i
    this.page = 0; // the page asked for
    this.shown = 0; // the page loaded last, which the controls describe
    this.next = "";
  }

  /** cursor fetches the current page. */
  get cursor() {
    return this.cursors[this.page];
  }

  /** turn moves by one page and answers whether it did; not while a page is loading, whose next cursor is not known yet. */
  turn(by) {
    if (this.page !== this.shown) return false;
    const page = this.page + by;
    if (page < 0 || (by > 0 && !this.next)) return false;
    if (by > 0) this.cursors[page] = this.next;
    this.page = page;
    return true;
  }

  /**
   * loaded takes the answer for page: the next cursor ("" on the last page).
   * It answers false, taking nothing, when another page has been asked for
   * meanwhile: that answer is stale.
   */
  loaded(page, next) {
    if (page !== this.page) return false;
    this.shown = page;
    this.next = next;
    this.cursors.length = this.page + 1;
    return true;
  }

  /** failed goes back to the page shown after the one asked for could not be loaded. */
  failed() {
    this.page = this.shown;
  }

  /** back goes to the page before after the current one came back empty; false on the first page. */
  back() {
    if (this.page === 0) return false;
    this.page--;
    this.cursors.length = this.page + 1;
    return true;
  }

  render() {
    $(`#${this.prefix}-label`).textContent = `page ${this.shown + 1}`;
    $(`#${this.prefix}-prev`).disabled = $(`#${this.prefix}-first`).disabled = this.shown === 0;
    $(`#${this.prefix}-next`).disabled = !this.next;
  }
}
