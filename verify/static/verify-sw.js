// Service worker for /v, /V and /scan: keeps the verifier working with the network off.
//
// Served by verify.web.service_worker, which fills in the three placeholders below (the
// raw file under /verify-static/ is never registered).
//
// - Page shell (HTML, JS, CSS, decoder): cache first, refreshed in the background, so the
//   page opens at once on a slow or dead connection.
// - Keys, issuer metadata and status lists: network first, cache as fallback, so a
//   revocation or a withdrawn key is seen as soon as the phone is online.
// - Everything else (the POST to /api/v1/verify, other pages of the host app): untouched.
//
// The worker never judges a list: it hands back the saved copy as it is, and the page
// (credential.js) applies the rule of verify/credential.py: a list older than the
// freshness window, or past its exp, cannot make a card valid; a revocation in it holds.

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const NETWORK_FIRST = __NETWORK_FIRST__;
const CACHE_PREFIX = "citizen-card-verify-";
const CACHE = CACHE_PREFIX + VERSION;
// After this long a slow network loses to the saved copy; a verdict in a doorway
// should not wait for a timeout of the mobile network.
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one: a list that fails to download must not stop the shell from caching.
      // What the worker of another page scope (same version) saved already is kept.
      await Promise.all(
        PRECACHE.map(async (path) => {
          try {
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
  } else if (PRECACHE.includes(path)) {
    event.respondWith(cacheFirst(event, path));
  }
});
