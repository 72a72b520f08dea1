/* Prévenance: keyboard shortcuts for the inbox and the case page. Plain JS, no build step.
   j/k next/previous case, o or Enter open, x tick it for the bulk bar, r reply, n note, a assign to me, e resolve,
   g then i inbox, / search, ? help, Esc leaves a text box. Documented on the page (?).
   Also: forms (and HTMX forms' submit buttons) marked data-confirm ask before they are sent. */
(function () {
  "use strict";
  var script = document.currentScript;
  var inboxUrl = (script && script.dataset.inbox) || "/cases/";
  // "g" waits this long for its "i"; after it, or on any other key, that key is an ordinary one.
  var G_TIMEOUT_MS = 1500;
  var pendingG = 0;  // when "g" was pressed (ms), 0 when none is pending
  var selected = -1;
  // Inputs that take no typed text: a shortcut pressed while one has focus is a shortcut.
  var NOT_TEXT = /^(checkbox|radio|button|submit|reset|image|file|range|color|hidden)$/;

  // Where keys are typed text (or pick an option by its first letter), not shortcuts.
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    if (tag === "INPUT") return !NOT_TEXT.test(target.type);
    return tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".inbox-row")); }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("is-selected", i === selected);
      row.setAttribute("aria-selected", i === selected ? "true" : "false");
    });
    all[selected].focus({ preventScroll: true });
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var all = rows();
    if (selected < 0 || selected >= all.length) return false;
    window.location.href = all[selected].dataset.caseUrl;
    return true;
  }

  // Tick or untick the selected row's box for the bulk bar (inbox_bulk.js hears its change).
  function toggleSelected() {
    var all = rows();
    var box = selected >= 0 && selected < all.length && all[selected].querySelector("[data-bulk-case]");
    if (!box) return false;
    box.click();
    all[selected].focus({ preventScroll: true });
    return true;
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (element) element.click();
    return Boolean(element);
  }

  function focus(selector) {
    var element = document.querySelector(selector);
    if (!element) return false;
    element.scrollIntoView({ block: "center" });
    element.focus();
    return true;
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var key = event.key;
    if (key === "Shift") return;  // on its way to a "?": leaves a pending "g" pending
    if (pendingG) {
      var inTime = Date.now() - pendingG <= G_TIMEOUT_MS;
      pendingG = 0;
      if (inTime && key === "i") { window.location.href = inboxUrl; event.preventDefault(); return; }
      // Not "g i": the key keeps its own meaning below.
    }
    var handled = true;
    switch (key) {
      case "j": select(selected + 1); break;
      case "k": select(selected < 0 ? 0 : selected - 1); break;
      case "o": handled = openSelected(); break;
      case "x": handled = toggleSelected(); break;
      // Enter on a focused link, button or form control keeps its own meaning.
      case "Enter": handled = !event.target.closest("a, button, summary, input, label") && openSelected(); break;
      case "r": handled = focus("[data-shortcut-reply]"); break;
      case "n": handled = focus("[data-shortcut-note]"); break;
      case "a": handled = click("[data-shortcut-take]"); break;
      case "e": handled = click("[data-shortcut-resolve]"); break;
      case "g": pendingG = Date.now(); break;
      case "/":
        handled = focus("[data-shortcut-search]");
        if (!handled) { window.location.href = inboxUrl + "#search"; handled = true; }
        break;
      case "?": showHelp(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-shortcuts-help]");
    if (button) showHelp();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  // A form that cannot be undone in one click asks first (data-confirm; HTMX forms use hx-confirm).
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // A submit button marked data-confirm asks before its HTMX form is sent ("Send and resolve"
  // while a gesture waits for approval): hx-confirm would be the form's, asked for every button.
  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    var button = trigger && trigger.submitter;
    var question = button && button.dataset && button.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#search") focus("[data-shortcut-search]");
  });
})();
