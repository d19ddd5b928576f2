// Keyboard navigation in site tables (progressive: the pages work without it): j and k move
// the focus to the next or previous row's first link, Enter follows it (as links do).
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    if (e.key !== "j" && e.key !== "k") return;
    var links = Array.prototype.slice.call(
      document.querySelectorAll("table[data-keys=rows] tbody tr td:first-child a"));
    if (!links.length) return;
    var i = links.indexOf(document.activeElement);
    i = e.key === "j" ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
    links[i].focus();
    links[i].closest("tr").scrollIntoView({ block: "nearest" });
    e.preventDefault();
  });
})();
