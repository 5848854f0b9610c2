/* newsdesk: Escape hides the tooltip a glossary term (or any title) shows on hover or
   focus, and the term keeps the focus (WCAG 1.4.13, content on hover or focus must be
   dismissible). The tooltip comes back on the next focus or on hovering another element. */
(function () {
  "use strict";
  var root = document.documentElement;
  var CLASS = "nd-tooltips-dismissed";
  var dismissedAt = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    if (!document.querySelector(".md-tooltip2--active, .md-tooltip--active")) return;
    root.classList.add(CLASS);
    dismissedAt = document.activeElement;
  });
  function show() {
    root.classList.remove(CLASS);
    dismissedAt = null;
  }
  document.addEventListener("focusin", function (event) {
    if (event.target !== dismissedAt) show();
  });
  document.addEventListener("mouseover", function (event) {
    var host = event.target.closest && event.target.closest("[title], [aria-describedby]");
    if (host && host !== dismissedAt) show();
  });
})();
