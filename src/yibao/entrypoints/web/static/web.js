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
