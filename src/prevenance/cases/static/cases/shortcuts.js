/* Prévenance: keyboard shortcuts for the inbox and the case page. Plain JS, no build step.
   j/k next/previous case, o or Enter open, r reply, n note, a assign to me, e resolve,
   g then i inbox, / search, ? help, Esc leaves a text box. Documented on the page (?). */
(function () {
  "use strict";
  var script = document.currentScript;
  var inboxUrl = (script && script.dataset.inbox) || "/cases/";
  var pendingG = false;
  var selected = -1;

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
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
    if (pendingG) {
      pendingG = false;
      if (key === "i") { window.location.href = inboxUrl; event.preventDefault(); }
      return;
    }
    var handled = true;
    switch (key) {
      case "j": select(selected + 1); break;
      case "k": select(selected < 0 ? 0 : selected - 1); break;
      case "o": handled = openSelected(); break;
      // Enter on a focused link or button keeps its own meaning.
      case "Enter": handled = !event.target.closest("a, button, summary") && openSelected(); break;
      case "r": handled = focus("[data-shortcut-reply]"); break;
      case "n": handled = focus("[data-shortcut-note]"); break;
      case "a": handled = click("[data-shortcut-take]"); break;
      case "e": handled = click("[data-shortcut-resolve]"); break;
      case "g": pendingG = true; break;
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

  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#search") focus("[data-shortcut-search]");
  });
})();
