/* Prévenance: a search box that narrows a long <select> (the case page's root causes). Plain
   JS, no build step. Without it the <select> works alone (grouped, first letters pick).

   The box (input[data-pick-filter], rendered hidden with its translated texts) is shown here.
   Typing keeps the options whose category and name hold every word typed, in any order,
   ignoring case and accents, and opens them as a list below; the count is read out.
   Enter picks the only match, or moves to the list; Down moves to the list. "Not known yet"
   and the chosen option always stay, so narrowing never changes what will be saved. */
(function () {
  "use strict";
  var MAX_ROWS = 10;
  var models = new WeakMap();  // select -> its options as rendered, by group

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/œ/g, "oe").replace(/æ/g, "ae").replace(/ø/g, "o").replace(/ł/g, "l");
  }

  // [{group: optgroup or null, options: [{node, text}]}], read once, before any narrowing.
  function model(select) {
    var found = models.get(select);
    if (found) return found;
    found = [];
    Array.prototype.forEach.call(select.children, function (node) {
      var group = node.tagName === "OPTGROUP" ? node : null;
      var options = group ? Array.prototype.slice.call(group.children) : [node];
      found.push({
        group: group,
        options: options.map(function (option) {
          return { node: option, text: fold((group ? group.label + " " : "") + option.text) };
        }),
      });
    });
    models.set(select, found);
    return found;
  }

  // Rebuild the select with the matching options; returns how many causes match.
  function narrow(select, typed) {
    var words = fold(typed).split(/\s+/).filter(Boolean);
    var value = select.value, matches = 0, rows = 0, last = null;
    var content = document.createDocumentFragment();
    model(select).forEach(function (entry) {
      var kept = entry.options.filter(function (option) {
        var match = option.node.value !== "" && words.every(function (word) { return option.text.indexOf(word) !== -1; });
        if (match) { matches += 1; last = option.node; }
        return match || option.node.value === "" || option.node.value === value;
      }).map(function (option) { return option.node; });
      if (!kept.length) return;
      rows += kept.length + (entry.group ? 1 : 0);
      if (entry.group) {
        entry.group.replaceChildren.apply(entry.group, kept);
        content.appendChild(entry.group);
      } else {
        content.appendChild(kept[0]);
      }
    });
    select.replaceChildren(content);
    select.value = value;
    if (words.length) select.size = Math.max(2, Math.min(rows, MAX_ROWS));
    else select.removeAttribute("size");
    select.dataset.onlyMatch = matches === 1 ? last.value : "";
    return words.length ? matches : -1;
  }

  function boxOf(target) {
    return target && target.matches && target.matches("input[data-pick-filter]") ? target : null;
  }

  function listOf(box) { return document.getElementById(box.dataset.pickFilter); }

  document.addEventListener("input", function (event) {
    var box = boxOf(event.target);
    if (!box) return;
    var select = listOf(box);
    if (!select) return;
    var matches = narrow(select, box.value);
    var status = box.parentNode.querySelector("[data-pick-status]");
    if (status) {
      status.textContent = matches < 0 ? "" : matches === 0 ? box.dataset.none : box.dataset.matches.replace("{count}", matches);
    }
  });

  document.addEventListener("keydown", function (event) {
    var box = boxOf(event.target);
    if (!box || (event.key !== "Enter" && event.key !== "ArrowDown")) return;
    var select = listOf(box);
    if (!select) return;
    event.preventDefault();  // Enter here never sends the form: the agent has not picked yet
    if (event.key === "Enter" && select.dataset.onlyMatch) {
      select.value = select.dataset.onlyMatch;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    select.focus();
  });

  function show(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("input[data-pick-filter][hidden]"), function (box) {
      box.hidden = false;
    });
  }

  // The page, then each part HTMX swaps in (the case's main column after a save).
  document.addEventListener("DOMContentLoaded", function () { show(document); });
  document.addEventListener("htmx:load", function (event) { show(event.detail && event.detail.elt); });
})();
