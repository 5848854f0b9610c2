/* newsdesk: a glossary term explains itself on keyboard focus as well as on hover, and
   Escape dismisses the explanation while the term keeps the focus (WCAG 1.4.13).
   With Material's content.tooltips feature, Material shows the tooltip on focus and hover
   and this script only adds Escape. Without it, browsers show a title on hover only, so
   this script shows the term's explanation itself while the term has the focus, as a
   role="tooltip" element the term is described by (aria-describedby). */
(function () {
  "use strict";
  var root = document.documentElement;
  var CLASS = "nd-tooltips-dismissed";
  var dismissedAt = null;
  var config = {};
  try {
    var element = document.getElementById("__config");
    config = element ? JSON.parse(element.textContent) : {};
  } catch (error) {
    config = {};
  }
  var material = (config.features || []).indexOf("content.tooltips") >= 0;

  var tip = null;
  var host = null;
  function hide() {
    if (tip) tip.remove();
    tip = null;
    if (host) {
      host.removeAttribute("aria-describedby");
      if (host.dataset.ndTitle) host.setAttribute("title", host.dataset.ndTitle);
    }
    host = null;
  }
  function show(link) {
    var text = link.getAttribute("title") || link.dataset.ndTitle;
    if (!text) return;
    hide();
    tip = document.createElement("span");
    tip.className = "nd-tooltip md-typeset";
    tip.id = "nd-tooltip";
    tip.setAttribute("role", "tooltip");
    tip.textContent = text;
    document.body.appendChild(tip);
    var box = link.getBoundingClientRect();
    var left = Math.max(8, Math.min(box.left, window.innerWidth - tip.offsetWidth - 8));
    tip.style.left = window.scrollX + left + "px";
    tip.style.top = window.scrollY + box.bottom + 6 + "px";
    // One description: the tooltip's (a title as well would be read twice or shown twice).
    link.dataset.ndTitle = text;
    link.removeAttribute("title");
    link.setAttribute("aria-describedby", tip.id);
    host = link;
  }
  if (!material) {
    document.addEventListener("focusin", function (event) {
      var link = event.target.closest && event.target.closest("a.nd-term");
      if (link) show(link);
    });
    document.addEventListener("focusout", function (event) {
      if (host && event.target === host) hide();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    if (tip) {
      var link = host;
      hide();
      dismissedAt = link;
      return;
    }
    if (!document.querySelector(".md-tooltip2--active, .md-tooltip--active")) return;
    root.classList.add(CLASS);
    dismissedAt = document.activeElement;
  });
  function reset() {
    root.classList.remove(CLASS);
    dismissedAt = null;
  }
  document.addEventListener("focusin", function (event) {
    if (event.target !== dismissedAt) reset();
  });
  document.addEventListener("mouseover", function (event) {
    var over = event.target.closest && event.target.closest("[title], [aria-describedby]");
    if (over && over !== dismissedAt) reset();
  });
})();
