// The web authenticator's service worker: keeps the app's shell so it opens from a home screen.
// Only the shell is ever cached: the page, its manifest and icon, and Vite's content-hashed assets.
// Everything else passes untouched, above all the GraphQL API (HTTP and WebSocket): a challenge or
// an answer served from a cache would be stale or replayed.
const CACHE = 'authenticator-shell-v1';
const PAGE = '/authenticator';
const SHELL = [PAGE, '/authenticator.webmanifest', '/favicon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** The page from the network when it answers (so updates arrive), else the cached copy. */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(PAGE, response.clone());
    return response;
  } catch {
    return (await cache.match(PAGE)) ?? Response.error();
  }
}

/** Hashed assets never change under their name: the cache first. */
async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) return event.respondWith(networkFirst(request));
  if (url.pathname.startsWith('/assets/') || SHELL.includes(url.pathname)) return event.respondWith(cacheFirst(request));
});
