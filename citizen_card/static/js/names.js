// The registration form's preview of the name as the card will print it.
// The rule is citizen_card/services/names.py's printed_name: the names in the chosen
// order, joined without a space where both letters that meet are of a script that writes
// names unspaced (the page gives those ranges in data-unspaced), with one space otherwise.
// The server renders the same preview first, so the page says it without this script.
(function () {
  "use strict";

  function setup(preview) {
    const form = preview.closest("form");
    const given = form.querySelector("[name=given_names]");
    const family = form.querySelector("[name=family_names]");
    const latin = form.querySelector("[name=latin_name]");
    const printed = preview.querySelector("[data-printed]");
    const printedLatin = preview.querySelector("[data-printed-latin]");
    const ranges = preview.dataset.unspaced.split(",").map((pair) => {
      const [low, high] = pair.split("-");
      return [parseInt(low, 16), parseInt(high, 16)];
    });
    const latinLetter = /\p{Script=Latin}/u;
    const letter = /\p{L}/u;

    // As the server cleans a field: spaces collapsed, NFC.
    function clean(text) {
      return text.normalize("NFC").split(/\s+/).filter(Boolean).join(" ");
    }

    function unspaced(ch) {
      const code = ch.codePointAt(0);
      return ranges.some(([low, high]) => low <= code && code <= high);
    }

    function printedName(givenNames, familyNames, order) {
      const [first, second] = order === "family_first"
        ? [familyNames, givenNames] : [givenNames, familyNames];
      if (!first || !second) { return first || second; }
      const last = Array.from(first).pop();
      const next = Array.from(second)[0];
      return first + (unspaced(last) && unspaced(next) ? "" : " ") + second;
    }

    function isLatin(text) {
      return Array.from(text).every((ch) => !letter.test(ch) || latinLetter.test(ch));
    }

    function update() {
      const checked = form.querySelector("[name=name_order]:checked");
      const name = printedName(clean(given.value), clean(family.value),
        checked ? checked.value : "given_first");
      printed.textContent = name;
      const latinForm = latin ? clean(latin.value) : "";
      // Printed under the name only when the name is in another script.
      printedLatin.textContent = latinForm;
      printedLatin.hidden = !latinForm || isLatin(name);
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("[data-name-preview]").forEach(setup);
})();
