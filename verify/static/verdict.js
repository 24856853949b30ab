// The verdict component shared by /v and /scan: renders a result of credential.js (or of
// POST /api/v1/verify) into the markup of templates/verify/_verdict.html.
//
// Every word comes from the page's JSON config (translated on the server); this file
// holds no user-visible text. Only textContent is written, never HTML: the name on a
// card is whatever the token says.

/** The page's configuration: URLs, translated strings, language. */
export function readConfig() {
  return JSON.parse(document.getElementById("verify-config").textContent);
}

/** Registers the offline worker for each page scope; failures only cost offline use. */
export async function registerServiceWorker(config) {
  if (!("serviceWorker" in navigator)) return;
  try {
    await Promise.all(
      config.urls.scopes.map((scope) => navigator.serviceWorker.register(config.urls.service_worker, { scope })),
    );
  } catch {
    // Private windows and some embedded browsers refuse workers; online checks still work.
  }
}

function relativeAge(milliseconds, lang) {
  const seconds = Math.max(0, Math.round((Date.now() - milliseconds) / 1000));
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  if (seconds < 60) return format.format(-seconds, "second");
  if (seconds < 3600) return format.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 2 * 86400) return format.format(-Math.floor(seconds / 3600), "hour");
  return format.format(-Math.floor(seconds / 86400), "day");
}

function formatDate(isoDate, lang) {
  const time = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(time)) return isoDate;
  return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(time);
}

export class VerdictView {
  /**
   * @param {HTMLElement} root the #verdict section
   * @param {object} config from readConfig()
   * @param {object} [options] {focusOnResult}: move focus to the verdict heading (on /v;
   *   not on /scan, where focus must stay in the scanner field)
   */
  constructor(root, config, options = {}) {
    this.root = root;
    this.strings = config.strings;
    this.lang = config.lang;
    this.focusOnResult = options.focusOnResult ?? false;
    this.title = root.querySelector("[data-part=title]");
    this.reason = root.querySelector("[data-part=reason]");
    this.details = root.querySelector("[data-part=details]");
    this.photo = root.querySelector("[data-part=photo]");
    this.freshness = root.querySelector("[data-part=freshness]");
    this.fields = Object.fromEntries(
      [...root.querySelectorAll("[data-field]")].map((element) => [element.dataset.field, element]),
    );
  }

  setState(state, reason, reasonText) {
    this.root.dataset.state = state;
    this.root.dataset.reason = reason ?? "";
    this.title.textContent = this.strings.title[state];
    this.reason.textContent = reasonText ?? "";
    this.reason.hidden = !reasonText;
  }

  hideDetails() {
    this.details.hidden = true;
    this.photo.hidden = true;
    this.freshness.hidden = true;
  }

  showPending() {
    this.setState("pending", null, null);
    this.hideDetails();
  }

  showIdle() {
    this.setState("idle", null, null);
    this.hideDetails();
  }

  /** `key` is one of strings.unable: no_token, offline. */
  showUnable(key) {
    this.setState("unable", key, this.strings.unable[key]);
    this.hideDetails();
    this.afterRender();
  }

  show(result) {
    const reason = Object.hasOwn(this.strings.reasons, result.reason) ? result.reason : "malformed";
    this.setState(result.valid ? "valid" : "invalid", reason, this.strings.reasons[reason]);
    const values = {
      name: result.name,
      card_number: result.card_number,
      expires_at: result.expires_at ? formatDate(result.expires_at, this.lang) : null,
      issuer: result.issuer,
    };
    let any = false;
    for (const [field, element] of Object.entries(this.fields)) {
      const value = values[field];
      element.textContent = value ?? "";
      element.parentElement.hidden = !value;
      any ||= Boolean(value);
    }
    this.details.hidden = !any;
    this.photo.hidden = !result.valid;
    this.showFreshness(result);
    this.afterRender();
  }

  showFreshness(result) {
    const parts = [];
    let stale = false;
    if (result.source === "server") {
      parts.push(this.strings.checked_by_server);
    } else if (result.freshness) {
      if (result.freshness.status) {
        parts.push(this.strings.status_age.replace("{age}", relativeAge(result.freshness.status, this.lang)));
        stale = result.freshness.statusExpired;
      }
      if (result.freshness.keys) {
        parts.push(this.strings.keys_age.replace("{age}", relativeAge(result.freshness.keys, this.lang)));
      }
    }
    if (stale) parts.push(this.strings.status_stale);
    this.freshness.textContent = parts.join(" ");
    this.freshness.hidden = parts.length === 0;
    this.freshness.classList.toggle("verdict__freshness--stale", stale);
  }

  afterRender() {
    if (this.focusOnResult) this.title.focus({ preventScroll: false });
  }
}
