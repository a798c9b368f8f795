/* Every page: action forms posted with HTMX show their errors. A 4xx answer (404 aside) to a post made from inside
   an element marked data-swap-errors is swapped in like a success, so the form comes back with its errors; when the
   swapped target is an action panel (data-action-panel), focus then moves to its status message or to the first
   field in error. */
(function () {
  "use strict";
  var panelId = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    var posted = config && config.verb === "post";
    if (posted && xhr && xhr.status >= 400 && xhr.status < 500 && xhr.status !== 404 && elt && elt.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    var target = event.detail.target;
    panelId = event.detail.shouldSwap && target && target.hasAttribute("data-action-panel") ? target.id : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!panelId) { return; }
    var panel = document.getElementById(panelId);
    panelId = null;
    if (!panel) { return; }
    var focus = panel.querySelector("[data-focus]") ||
      panel.querySelector(".has-error input, .has-error textarea, .has-error select, .form-errors");
    if (focus) {
      if (!/^(INPUT|TEXTAREA|SELECT)$/.test(focus.tagName) && !focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
      focus.focus();
    }
  });
})();
