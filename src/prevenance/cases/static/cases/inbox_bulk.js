/* Prévenance: the inbox's bulk bar. Plain JS, no build step. Only shows the bar while a row is
   ticked (with the count) and runs the "select all on this page" box: without JavaScript the bar
   is always shown and the form is sent all the same (views/inbox_bulk.py). */
(function () {
  "use strict";

  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("[data-bulk-case]")); }

  function update() {
    var bar = document.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var all = boxes();
    var ticked = all.filter(function (box) { return box.checked; }).length;
    var count = bar.querySelector("[data-bulk-count]");
    count.textContent = count.dataset.label + " " + ticked;
    bar.hidden = ticked === 0;
    all.forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("is-checked", box.checked);
    });
    var every = document.querySelector("[data-bulk-all]");
    if (every) {
      every.hidden = all.length === 0;
      every.checked = all.length > 0 && ticked === all.length;
      every.indeterminate = ticked > 0 && ticked < all.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-bulk-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
      update();
    } else if (target.matches("[data-bulk-case]")) {
      update();
    }
  });

  // Enter on a box would send the form with its first button (Assign, with no one picked):
  // the bar's buttons send it, never a key pressed in the list.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-bulk-case], [data-bulk-all]")) {
      event.preventDefault();
    }
  });

  // Closing cannot be undone (nothing leaves closed): asked first, as on the case page.
  document.addEventListener("submit", function (event) {
    var bar = event.target.querySelector && event.target.querySelector("[data-bulk-bar]");
    var status = bar && event.target.querySelector("#bulk-status");
    if (!status || !event.submitter || event.submitter.value !== "status" || status.value !== "closed") return;
    if (!window.confirm(bar.dataset.closeQuestion)) event.preventDefault();
  });

  // Rows added by "Load more" come unticked; a page restored from the history keeps its ticks.
  document.addEventListener("htmx:afterSwap", update);
  window.addEventListener("pageshow", update);
  document.addEventListener("DOMContentLoaded", update);
})();
