// Card actions: after "Print the card" (which opens the PDF in a new tab), ask the
// server every 1.5 s whether the card is marked printed, then show "Mark as handed
// over" without a reload. A file of its own because the CSP allows no inline script.
(function () {
  "use strict";
  var INTERVAL_MS = 1500;
  var MAX_TRIES = 80; // two minutes

  function watch(form) {
    var panel = form.closest(".card-actions");
    if (!panel) { return; }
    var handOver = panel.querySelector(".js-hand-over");
    var status = panel.querySelector(".js-print-status");
    if (!handOver || !handOver.hidden) { return; }
    var tries = 0;
    function poll() {
      tries += 1;
      fetch(form.dataset.stateUrl, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (state && state.printed) {
            handOver.hidden = false;
            if (status) { status.textContent = status.dataset.msgPrinted; }
            var button = handOver.querySelector("button");
            if (button) { button.focus(); }
          } else if (tries < MAX_TRIES) {
            window.setTimeout(poll, INTERVAL_MS);
          }
        })
        .catch(function () {
          if (tries < MAX_TRIES) { window.setTimeout(poll, INTERVAL_MS); }
        });
    }
    window.setTimeout(poll, INTERVAL_MS / 3);
  }

  document.querySelectorAll(".js-print-card").forEach(function (form) {
    form.addEventListener("submit", function () { watch(form); });
  });
})();
