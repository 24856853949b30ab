// The /v and /V landing page: verifies the token in the URL fragment, in the browser.
//
// The fragment never reaches the server. Once read, it is taken out of the address with
// history.replaceState, which rewrites the current history entry instead of adding one:
// going back, forward or reloading never brings the token (or the verdict) back. The
// entry keeps only the fact that a check was made, so a reload offers "Scan another
// card" rather than complaining that there is no card code.

import { Verifier } from "./credential.js";
import { VerdictView, readConfig, registerServiceWorker } from "./verdict.js";

const config = readConfig();
const verifier = new Verifier(config.urls, { statusMaxAge: config.policy.status_max_age_seconds });
const view = new VerdictView(document.getElementById("verdict"), config, {
  focusOnResult: true,
  onCheckAgain: () => {
    verifier.forgetStatus();
    check();
  },
});
let token = null;

function takeTokenFromAddress() {
  const fragment = location.hash.slice(1);
  if (!fragment) return;
  token = fragment;
  history.replaceState({ checked: true }, "", location.pathname + location.search);
}

async function check() {
  if (!token) {
    view.showReady(history.state?.checked ? "scan_another" : "no_token");
    return;
  }
  view.showPending();
  performance.mark("card-verify-start");
  let result;
  try {
    result = await verifier.verify(token);
  } catch {
    view.showOffline();
    return;
  } finally {
    performance.measure("card-verify", "card-verify-start");
  }
  view.show(result);
}

// A second scan may reuse the open tab and change only the fragment.
window.addEventListener("hashchange", () => {
  takeTokenFromAddress();
  check();
});

takeTokenFromAddress();
// The worker is registered after the verdict: its update check and first-visit
// downloads would otherwise compete with the check for the network.
check().finally(() => registerServiceWorker(config));
