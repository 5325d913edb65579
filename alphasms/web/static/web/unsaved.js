// Warn before leaving a page whose form holds unsaved input (e.g. switching the language mid-form):
// forms marked data-warn-unsaved become "dirty" on the first input and clean again when submitted.
// Without JavaScript nothing changes; the browser shows its own "Leave site?" question.
(function () {
  "use strict";
  var dirty = false;
  document.addEventListener("input", function (event) {
    if (event.target.form && event.target.form.hasAttribute("data-warn-unsaved")) { dirty = true; }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute("data-warn-unsaved")) { dirty = false; }
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) { return; }
    event.preventDefault();
    event.returnValue = "";
  });
})();
