// Forms in the GOV.UK pattern (templates/_forms.html): the error summary takes the focus
// when the page opens, so a screen reader reads it first; a link in it moves the focus to
// its field and brings the field's label into view with it.
(function () {
  "use strict";
  const summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  // On the document, so that a summary a script puts in later (/my-card) works too.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) { return; }
    const input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!input) { return; }
    event.preventDefault();
    const label = document.querySelector("label[for='" + CSS.escape(input.id) + "']");
    const legend = input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
    (label || legend || input).scrollIntoView();
    input.focus({ preventScroll: true });
  });
})();
