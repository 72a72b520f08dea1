/* Prévenance: picking a reply template asks first when it would replace a draft the agent typed.
   Plain JS, no build step. The picker (select[data-replace-draft]) fetches the template's text
   with HTMX; htmx:confirm holds that request until the agent answers. window.confirm blocks,
   so letting the event through is enough: no issueRequest() needed. Without JavaScript the
   picker fills nothing (the template only chooses the reply's language), so nothing is lost. */
(function () {
  "use strict";

  // A draft is text the agent typed: not blank, and not a template's text left as it came
  // (the server marks that box data-from-template; its text is the box's default value).
  function holdsDraft(box) {
    if (!box || !box.value.trim()) return false;
    return !(box.hasAttribute("data-from-template") && box.value === box.defaultValue);
  }

  // The option shown before this change: the last one let through, else the page's own.
  function previousChoice(picker) {
    if ("picked" in picker.dataset) return picker.dataset.picked;
    var shown = Array.prototype.find.call(picker.options, function (option) { return option.defaultSelected; });
    return shown ? shown.value : "";
  }

  document.addEventListener("htmx:confirm", function (event) {
    var picker = event.detail.elt;
    if (!picker.matches || !picker.matches("select[data-replace-draft]")) return;
    if (holdsDraft(document.getElementById("id_body"))) {
      // "Write freely" empties the box: say so rather than speak of a template.
      var question = picker.value ? picker.dataset.replaceDraft : picker.dataset.clearDraft;
      if (!window.confirm(question)) {
        event.preventDefault();  // no request: the draft stays, and the picker says what it holds
        picker.value = previousChoice(picker);
        return;
      }
    }
    picker.dataset.picked = picker.value;
  });
})();
