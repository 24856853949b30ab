// Service worker for /v, /V and /scan: keeps the verifier working with the network off.
//
// Served by verify.web.service_worker, which fills in the three placeholders below (the
// raw file under /verify-static/ is never registered).
//
// - Page shell (HTML, JS, CSS, decoder): cache first, refreshed in the background, so the
//   page opens at once on a slow or dead connection.
// - The pages themselves are kept once per language (the Content-Language the server
//   answered, as "/V?lang=fr"): offline, a page opens in the language asked for (?lang=),
//   else in the one the server chose last time (the browser's, or the switch's), else in
//   the first of the browser's languages that was saved.
// - Keys, issuer metadata and status lists: network first, cache as fallback, so a
//   revocation or a withdrawn key is seen as soon as the phone is online.
// - Everything else (the POST to /api/v1/verify, other pages of the host app): untouched.
//
// The worker never judges a list: it hands back the saved copy as it is, and the page
// (credential.js) applies the rule of verify/credential.py: a list older than the
// freshness window, or past its exp, cannot make a card valid; a revocation in it holds.

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const PAGES = __PAGES__;
const NETWORK_FIRST = __NETWORK_FIRST__;
const CACHE_PREFIX = "citizen-card-verify-";
const CACHE = CACHE_PREFIX + VERSION;
// After this long a slow network loses to the saved copy; a verdict in a doorway
// should not wait for a timeout of the mobile network.
const NETWORK_TIMEOUT_MS = 3000;
// Where the worker notes the language the server chose last (not a real address).
const LAST_LANGUAGE_KEY = "/verify-sw/last-language";

function pageKey(path, language) {
  return `${path}?lang=${encodeURIComponent(language)}`;
}

// Save a page under its language, and note that language as the server's last choice.
async function savePage(cache, path, response) {
  const language = (response.headers.get("Content-Language") || "").split(",")[0].trim();
  if (!response.ok || !language) return;
  await cache.put(pageKey(path, language), response);
  await cache.put(LAST_LANGUAGE_KEY, new Response(language));
}

async function lastLanguage(cache) {
  const saved = await cache.match(LAST_LANGUAGE_KEY);
  return saved ? (await saved.text()).trim() : "";
}

// The saved copy of ``path`` nearest to what was asked: the language named, the last one
// the server chose, then the browser's languages (primary tags), then any.
async function savedPage(cache, path, asked) {
  const wanted = [asked, await lastLanguage(cache)];
  for (const tag of self.navigator.languages || []) wanted.push(tag, tag.split("-")[0]);
  for (const language of wanted) {
    if (!language) continue;
    const hit = await cache.match(pageKey(path, language), { ignoreVary: true });
    if (hit) return hit;
  }
  const prefix = new URL(pageKey(path, ""), self.location.origin).href;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(prefix)) return cache.match(request, { ignoreVary: true });
  }
  return undefined;
}

async function page(event, url) {
  const cache = await caches.open(CACHE);
  const path = url.pathname;
  const asked = url.searchParams.get("lang") || "";
  // Without ?lang= the copy to show first is in the language the server chose last.
  const exact = await cache.match(pageKey(path, asked || (await lastLanguage(cache))), {
    ignoreVary: true,
  });
  const refresh = fetch(event.request)
    .then(async (response) => {
      await savePage(cache, path, response.clone());
      return response;
    })
    .catch(() => null);
  if (exact) {
    event.waitUntil(refresh);
    return exact;
  }
  const response = await refresh;
  if (response) return response;
  return (await savedPage(cache, path, asked)) || Response.error();
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one: a list that fails to download must not stop the shell from caching.
      // What the worker of another page scope (same version) saved already is kept.
      await Promise.all(
        PRECACHE.map(async (path) => {
          try {
            if (PAGES.includes(path)) {
              // In the browser's language (no cookie): what the server would choose.
              const response = await fetch(path, { cache: "no-cache", credentials: "omit" });
              const language = response.headers.get("Content-Language") || "";
              if (!(await cache.match(pageKey(path, language)))) await savePage(cache, path, response);
              return;
            }
            if (await cache.match(path, { ignoreVary: true })) return;
            const response = await fetch(path, { cache: "no-cache", credentials: "omit" });
            if (response.ok) await cache.put(path, response);
          } catch {
            // Offline during install: the next visit fills the gap.
          }
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

function isNetworkFirst(path) {
  return NETWORK_FIRST.some((prefix) => path === prefix || (prefix.endsWith("/") && path.startsWith(prefix)));
}

async function networkFirst(event, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(event.request),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), NETWORK_TIMEOUT_MS)),
    ]);
    // Saved after answering: the page should not wait for a disk write.
    if (response.ok) event.waitUntil(cache.put(path, response.clone()));
    return response;
  } catch (error) {
    const cached = await cache.match(path, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(event, path) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path, { ignoreVary: true });
  const refresh = fetch(event.request)
    .then(async (response) => {
      if (response.ok) await cache.put(path, response.clone());
      return response;
    })
    .catch(() => null);
  if (cached) {
    event.waitUntil(refresh);
    return cached;
  }
  const response = await refresh;
  if (response) return response;
  return Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Cache keys ignore the query string; the fragment never reaches a worker.
  const path = url.pathname;
  if (isNetworkFirst(path)) {
    event.respondWith(networkFirst(event, path));
  } else if (PAGES.includes(path)) {
    event.respondWith(page(event, url));
  } else if (PRECACHE.includes(path)) {
    event.respondWith(cacheFirst(event, path));
  }
});
