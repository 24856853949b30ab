// The verdict component shared by /v and /scan: renders a result of credential.js (or of
// POST /api/v1/verify) into the markup of templates/verify/_verdict.html.
//
// Decision first, details second: a coloured banner with an icon, a heading that is the
// decision, what happened and what to do next; then the name as printed (both forms when
// the card prints two) with the prompt to compare it with the card, and the details.
// Every word comes from the page's JSON config (translated on the server); this file
// holds no user-visible text. Only textContent is written, never HTML: the name on a
// card is whatever the token says.

/** The page's configuration: URLs, translated strings, language, policy. */
export function readConfig() {
  return JSON.parse(document.getElementById("verify-config").textContent);
}

/**
 * Registers the offline worker for each page scope; failures only cost offline use.
 * This page's scope goes first, and the others once it is ready: their installs then
 * find everything in the shared cache, so a phone downloads the files once, not thrice.
 */
export async function registerServiceWorker(config) {
  if (!("serviceWorker" in navigator)) return;
  const register = (scope) => navigator.serviceWorker.register(config.urls.service_worker, { scope });
  const own = config.urls.scopes.find((scope) => location.pathname === scope);
  try {
    if (own) {
      await register(own);
      await navigator.serviceWorker.ready;
    }
    await Promise.all(config.urls.scopes.filter((scope) => scope !== own).map(register));
  } catch {
    // Private windows and some embedded browsers refuse workers; online checks still work.
  }
}

// How each reason looks: the colour of its banner (tone) and its icon. Red ("stop") for
// every "do not accept", amber ("caution") for "cannot confirm", slate ("retry") for a
// code that could not be read; green only for valid.
const LOOKS = {
  ok: { tone: "valid", icon: "valid" },
  revoked: { tone: "stop", icon: "cancelled" },
  key_revoked: { tone: "stop", icon: "cancelled" },
  suspended: { tone: "stop", icon: "paused" },
  expired: { tone: "stop", icon: "expired" },
  not_yet_valid: { tone: "stop", icon: "expired" },
  bad_signature: { tone: "stop", icon: "forged" },
  unknown_key: { tone: "stop", icon: "forged" },
  unknown_issuer: { tone: "stop", icon: "unknown" },
  malformed: { tone: "retry", icon: "unreadable" },
  status_unknown: { tone: "caution", icon: "caution" },
};
const ANSWERS = { ok: "valid", status_unknown: "cannot_confirm" };
// Where checking again can change the answer: a list or a connection may come back.
const CHECK_AGAIN = new Set(["status_unknown", "offline"]);

function parseMoment(isoTime) {
  const time = Date.parse(isoTime ?? "");
  return Number.isNaN(time) ? null : time;
}

function relativeAge(milliseconds, lang) {
  const seconds = Math.max(0, Math.round((Date.now() - milliseconds) / 1000));
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  if (seconds < 60) return format.format(-seconds, "second");
  if (seconds < 3600) return format.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 2 * 86400) return format.format(-Math.floor(seconds / 3600), "hour");
  return format.format(-Math.floor(seconds / 86400), "day");
}

// First-strong isolate … pop directional isolate: a date or time put into a sentence of a
// right-to-left page stays one unit (its digits, commas and brackets in their own order),
// as <bdi> does for an element. Left-to-right pages show their values as they are.
const FSI = "\u2068";
const PDI = "\u2069";

function formatDate(isoDate, lang) {
  const time = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(time)) return isoDate;
  return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(time);
}

/** "1 Dec 2026, 14:02 (2 days ago)": when a status list was signed, in local time. */
function formatMoment(milliseconds, lang) {
  const moment = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(milliseconds);
  return `${moment} (${relativeAge(milliseconds, lang)})`;
}

export class VerdictView {
  /**
   * @param {HTMLElement} root the #verdict section
   * @param {object} config from readConfig()
   * @param {object} [options] {focusOnResult: move focus to the heading (on /v; not on
   *   /scan, where focus stays in the scanner field), showCheckedAt: say at what time
   *   the check was made (on /scan, where a verdict stays up a while), onCheckAgain}
   */
  constructor(root, config, options = {}) {
    this.root = root;
    this.strings = config.strings;
    this.lang = config.lang;
    this.isolate = config.dir === "rtl" ? (value) => `${FSI}${value}${PDI}` : (value) => value;
    this.focusOnResult = options.focusOnResult ?? false;
    this.showCheckedAt = options.showCheckedAt ?? false;
    const part = (name) => root.querySelector(`[data-part=${name}]`);
    this.icon = part("icon");
    this.title = part("title");
    this.what = part("what");
    this.next = part("next");
    this.body = part("body");
    this.nameCheck = part("name-check");
    this.expiryLabel = part("expiry-label");
    this.freshness = part("freshness");
    this.checkedAt = part("checked-at");
    this.actions = part("actions");
    this.fields = Object.fromEntries(
      [...root.querySelectorAll("[data-field]")].map((element) => [element.dataset.field, element]),
    );
    this.checkAgain = Boolean(options.onCheckAgain);
    if (this.checkAgain) part("again").addEventListener("click", options.onCheckAgain);
  }

  setBanner({ state, reason, tone, icon, words }) {
    Object.assign(this.root.dataset, { state, reason, tone, icon });
    this.icon.setAttribute("href", `#verdict-icon-${icon}`);
    this.title.textContent = words.title;
    for (const [element, text] of [
      [this.what, words.what],
      [this.next, words.next],
    ]) {
      element.textContent = text ?? "";
      element.hidden = !text;
    }
    this.actions.hidden = !(this.checkAgain && CHECK_AGAIN.has(reason));
  }

  /** Empties every detail: a cleared verdict leaves no name in the page. */
  wipe() {
    this.body.hidden = true;
    for (const element of Object.values(this.fields)) element.textContent = "";
    this.freshness.textContent = "";
    this.checkedAt.textContent = "";
    this.checkedAt.hidden = true;
  }

  showPending() {
    this.wipe();
    this.setBanner({ state: "pending", reason: "", tone: "neutral", icon: "pending", words: this.strings.states.pending });
  }

  /** Nothing to show: `key` is idle (/scan), no_token or scan_another (/v). */
  showReady(key) {
    this.wipe();
    this.setBanner({ state: "ready", reason: key, tone: "neutral", icon: "scan", words: this.strings.states[key] });
  }

  /** Neither this device nor the server could check the card. */
  showOffline() {
    this.wipe();
    this.setBanner({
      state: "offline",
      reason: "offline",
      tone: "caution",
      icon: "caution",
      words: this.strings.states.offline,
    });
    this.stampCheckedAt();
    this.afterRender();
  }

  show(result) {
    const reason = Object.hasOwn(LOOKS, result.reason) ? result.reason : "malformed";
    this.wipe();
    this.setBanner({
      state: ANSWERS[reason] ?? "not_valid",
      reason,
      ...LOOKS[reason],
      words: this.words(reason, result),
    });
    this.showDetails(reason, result);
    this.stampCheckedAt();
    this.afterRender();
  }

  words(reason, result) {
    const stale = reason === "status_unknown" && parseMoment(result.status_checked_at) !== null;
    const words = { ...(stale ? this.strings.status_stale : this.strings.verdicts[reason]) };
    const fill = (text, key, value) => (text ? text.replace(`{${key}}`, this.isolate(value)) : text);
    if (reason === "expired" && result.expires_at) {
      words.title = fill(words.title, "date", formatDate(result.expires_at, this.lang));
    }
    if (reason === "not_yet_valid" && result.issued_at) {
      words.what = fill(words.what, "date", formatDate(result.issued_at, this.lang));
    }
    if (stale) words.what = fill(words.what, "time", formatMoment(parseMoment(result.status_checked_at), this.lang));
    return words;
  }

  showDetails(reason, result) {
    if (!result.name) return; // nothing believed: the signature did not hold
    const values = {
      name: result.name,
      latin_name: result.latin_name,
      card_number: result.card_number,
      expires_at: result.expires_at ? formatDate(result.expires_at, this.lang) : null,
      issuer: result.issuer,
    };
    for (const [field, element] of Object.entries(this.fields)) {
      element.textContent = values[field] ?? "";
      element.closest("[data-row]").hidden = !values[field];
    }
    this.nameCheck.textContent = result.latin_name ? this.strings.names_check : this.strings.name_check;
    // "Valid until" only on a valid card; a date on any other is only its expiry date.
    this.expiryLabel.textContent = reason === "ok" ? this.strings.labels.valid_until : this.strings.labels.expires;
    const parts = [];
    if (result.source === "server") parts.push(this.strings.checked_by_server);
    const listTime = parseMoment(result.status_checked_at);
    // A stale list is named in the banner already.
    if (listTime !== null && reason !== "status_unknown") {
      parts.push(this.strings.status_from.replace("{time}", this.isolate(formatMoment(listTime, this.lang))));
    }
    this.freshness.textContent = parts.join(" ");
    this.freshness.hidden = parts.length === 0;
    this.body.hidden = false;
  }

  stampCheckedAt() {
    if (!this.showCheckedAt) return;
    const time = new Intl.DateTimeFormat(this.lang, { timeStyle: "short" }).format(Date.now());
    this.checkedAt.textContent = this.strings.checked_at.replace("{time}", this.isolate(time));
    this.checkedAt.hidden = false;
  }

  afterRender() {
    if (this.focusOnResult) this.title.focus({ preventScroll: false });
  }
}
