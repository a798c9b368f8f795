/* Topic pages: action forms posted with HTMX show their errors (4xx answers of elements marked data-swap-errors are
   swapped in), then focus moves to the status message or the first field in error. */
(function () {
  "use strict";
  var swapped = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.status !== 404 && elt && elt.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    swapped = event.detail.shouldSwap && event.detail.target && event.detail.target.id === "topic-detail";
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!swapped) { return; }
    swapped = false;
    var detail = document.getElementById("topic-detail");
    if (!detail) { return; }
    var focus = detail.querySelector("[data-focus]") ||
      detail.querySelector(".has-error input, .has-error textarea, .has-error select, .form-errors");
    if (focus) {
      if (!/^(INPUT|TEXTAREA|SELECT)$/.test(focus.tagName) && !focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
      focus.focus();
    }
  });
})();
