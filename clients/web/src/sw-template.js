// The apps' service worker (written into the build as sw.js by
// tools/sw.mjs, which fills VERSION and SHELL). It keeps the app shell in
// a cache named after the build, so a new build replaces it whole:
// index.html (and navigations) network first, falling back to the cache
// when offline; the hashed files cache first. Nothing else is touched:
// /ws, /healthz, /readyz, /metrics and other sites go to the network.
const VERSION = '__VERSION__';
const SHELL = [/*__SHELL__*/];
const CACHE = `microwish-${VERSION}`;
const NETWORK_ONLY = ['/ws', '/healthz', '/readyz', '/metrics'];

self.addEventListener('install', (e) => {
    e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL))
        .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
    e.waitUntil(caches.keys().then((keys) => Promise.all(keys
        .filter((k) => k.startsWith('microwish-') && k !== CACHE)
        .map((k) => caches.delete(k))))
        .then(() => self.clients.claim()));
});

async function networkFirst(req) {
    const cache = await caches.open(CACHE);
    try {
        const res = await fetch(req);
        if (res.ok) cache.put(req.mode === 'navigate' ? 'index.html' : req, res.clone());
        return res;
    } catch (err) {
        const hit = await cache.match(req.mode === 'navigate' ? 'index.html' : req);
        if (hit) return hit;
        throw err;
    }
}

async function cacheFirst(req) {
    const hit = await caches.match(req);
    return hit || fetch(req);
}

self.addEventListener('fetch', (e) => {
    const req = e.request;
    if (req.method !== 'GET') return;
    const url = new URL(req.url);
    if (url.origin !== self.location.origin) return;
    if (NETWORK_ONLY.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`)))
        return;
    const path = url.pathname.slice(self.registration.scope.length
        - self.location.origin.length);
    if (req.mode === 'navigate' || path === '' || path === 'index.html'
        || path === 'config.json')
        e.respondWith(networkFirst(req));
    else
        e.respondWith(cacheFirst(req));
});

// A tap on a notification (an offer): back to the app.
self.addEventListener('notificationclick', (e) => {
    e.notification.close();
    const target = e.notification.data && e.notification.data.hash || '#/';
    e.waitUntil(self.clients.matchAll({ type: 'window' }).then((list) => {
        for (const c of list) {
            if ('focus' in c) {
                c.navigate?.(new URL(target, self.registration.scope).href);
                return c.focus();
            }
        }
        return self.clients.openWindow(new URL(target, self.registration.scope).href);
    }));
});
