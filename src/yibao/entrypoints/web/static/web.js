/* The window's few behaviours, served from /static (the content security policy runs no inline script). */
document.addEventListener("DOMContentLoaded", function () {
  /* A submit button with data-busy shows a spinner and its busy text while the page works (busy_button). */
  document.querySelectorAll("button[data-busy]").forEach(function (button) {
    if (!button.form) { return; }
    button.form.addEventListener("submit", function () {
      setTimeout(function () { button.disabled = true; }, 0);
      var busy = document.getElementById(button.id + "-busy");
      if (busy) { busy.hidden = false; }
    });
  });
  /* A link with data-back goes back a page when there is one (else it follows its href). */
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
});

/* The settlement counter's keyboard flow and its fee lines pasted from a spreadsheet. */
document.addEventListener("DOMContentLoaded", function () {
  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";

  /* [data-autofocus]: a form gets its first field in error (else its first field); another element itself. */
  var target = document.querySelectorAll("[data-autofocus]");
  if (target.length) {
    var el = target[target.length - 1];
    var first = el.tagName === "FORM" ? (el.querySelector(".has-error select, .has-error input, [aria-invalid=true]") || el.querySelector(FIELDS)) : el;
    if (first) { first.focus(); if (first.scrollIntoView) { first.scrollIntoView({block: "center"}); } }
  }

  /* A form with data-enter-submits: Enter in a select submits it too (as Enter in a text field does). */
  document.querySelectorAll("form[data-enter-submits]").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && event.target.tagName === "SELECT") {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  });

  /* Ctrl+Enter (⌘+Enter) confirms the previewed bill; a bill changed after its preview must be previewed again. */
  var confirmForm = document.getElementById("confirm-form");
  var billForm = document.getElementById("bill-form");
  if (confirmForm) {
    var stale = false;
    if (billForm) {
      var changed = function () {
        stale = true;
        document.getElementById("confirm-button").disabled = true;
        document.getElementById("stale-preview").hidden = false;
      };
      billForm.addEventListener("input", changed);
      billForm.addEventListener("change", changed);
    }
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (!stale) { confirmForm.requestSubmit(); }
      }
    });
  }

  /* Fee lines: rows added as needed; rows pasted from a spreadsheet (tab-separated) fill the table from the cell
     pasted into, column by column (code, name, class, amount), as many rows as pasted. The cells are kept as pasted:
     the server names every bad one (row, column, value, what was expected) and settles nothing. */
  var table = document.getElementById("fee-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  function addRow() {
    var last = body.rows[body.rows.length - 1];
    var row = last.cloneNode(true);
    var n = body.rows.length;
    row.querySelector(".row-no").textContent = String(n + 1);
    row.querySelectorAll("input, select").forEach(function (f) {
      f.name = f.name.replace(/^fl\d+_/, "fl" + n + "_");
      var label = f.getAttribute("aria-label");
      if (label) { f.setAttribute("aria-label", label.replace(/\d+$/, String(n + 1))); }
      if (f.tagName === "SELECT") {
        Array.prototype.slice.call(f.options).forEach(function (o, i) { if (i >= 3) { o.remove(); } });
        f.selectedIndex = 0;
      } else { f.value = ""; }
    });
    row.querySelectorAll(".error").forEach(function (e) { e.remove(); });
    row.querySelectorAll(".has-error").forEach(function (c) { c.classList.remove("has-error"); });
    body.appendChild(row);
    return row;
  }
  function setClass(select, text) {
    var wanted = text.trim();
    var found = Array.prototype.slice.call(select.options).find(function (o) {
      return wanted !== "" && (o.value === wanted || o.text === wanted || o.text.indexOf(wanted) === 0);
    });
    if (!found) { found = new Option(wanted, wanted); select.add(found); }
    select.value = found.value;
  }
  var addButton = document.getElementById("add-fee-row");
  addButton.hidden = false;
  addButton.addEventListener("click", function () { addRow().querySelector("input").focus(); });
  body.addEventListener("paste", function (event) {
    var cell = event.target;
    var data = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    if (!/^fl\d+_code$/.test(cell.name || "") || !/[\t\n]/.test(data)) { return; }
    event.preventDefault();
    var lines = data.replace(/\r/g, "").replace(/\n+$/, "").split("\n");
    var start = Array.prototype.indexOf.call(body.rows, cell.closest("tr"));
    lines.forEach(function (line, i) {
      var row = body.rows[start + i] || addRow();
      var cells = line.split("\t");
      var inputs = row.querySelectorAll("input, select");
      inputs.forEach(function (f, c) {
        var value = cells[c] === undefined ? "" : cells[c].trim();
        if (f.tagName === "SELECT") { if (value !== "") { setClass(f, value); } } else { f.value = value; }
      });
    });
    billForm.dispatchEvent(new Event("input"));
    var next = body.rows[start + lines.length - 1].querySelector("input[name$=_amt]");
    if (next) { next.focus(); }
  });
});
