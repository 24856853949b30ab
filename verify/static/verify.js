// The /v and /V landing page: verifies the token in the URL fragment, in the browser.
//
// The fragment never reaches the server. Once read, it is removed from the address so
// the browser history does not become a list of who was checked; the "check again"
// button re-runs the check with fresh keys and lists.

import { Verifier } from "./credential.js";
import { VerdictView, readConfig, registerServiceWorker } from "./verdict.js";

const config = readConfig();
const view = new VerdictView(document.getElementById("verdict"), config, { focusOnResult: true });
const verifier = new Verifier(config.urls);
const again = document.getElementById("check-again");
let token = null;

function takeTokenFromAddress() {
  const fragment = location.hash.slice(1);
  if (!fragment) return;
  token = fragment;
  history.replaceState(null, "", location.pathname + location.search);
}

async function check() {
  if (!token) {
    view.showUnable("no_token");
    again.hidden = true;
    return;
  }
  view.showPending();
  performance.mark("card-verify-start");
  let result;
  try {
    result = await verifier.verify(token);
  } catch {
    view.showUnable("offline");
    again.hidden = false;
    return;
  } finally {
    performance.measure("card-verify", "card-verify-start");
  }
  view.show(result);
  again.hidden = false;
}

again.addEventListener("click", () => {
  verifier.statusLists.clear();
  check();
});
// A second scan may reuse the open tab and change only the fragment.
window.addEventListener("hashchange", () => {
  takeTokenFromAddress();
  check();
});

takeTokenFromAddress();
// The worker is registered after the verdict: its update check and first-visit
// downloads would otherwise compete with the check for the network.
check().finally(() => registerServiceWorker(config));
