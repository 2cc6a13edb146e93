// ready.js -- when a page became usable, for whoever measures the apps
// (issue 16: "interactive within 1 s"): the browser tests and
// `make bench` read the mark from the Performance timeline; people never
// see it.

const seen = new Set();

// Marks "mw:ready:<page>" in the Performance timeline the first time the
// page's own data is on screen (a page left and opened again in the same
// load is not marked again): performance.getEntriesByName() gives its
// startTime, milliseconds since the navigation began.
export function markReady(page) {
    if (seen.has(page) || typeof performance === 'undefined' || !performance.mark) return;
    seen.add(page);
    performance.mark(`mw:ready:${page}`);
}
