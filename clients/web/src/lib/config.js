// config.js -- the operator's settings of the apps, read at run time
// from config.json beside index.html (edit it in web-root; no rebuild):
//   city         the city the log-in form starts with ("jinan")
//   tileUrl      map tiles, e.g. "https://tiles.example/{z}/{x}/{y}.png";
//                "" draws maps without tiles (the apps work without)
//   tileAttribution, tileMaxZoom
// A tile server of another origin must also be allowed by the page's
// Content-Security-Policy (img-src), which wishd sends: wishd's
// tile-origin setting (docs/operations.md).
const DEFAULTS = { city: 'jinan', tileUrl: '', tileAttribution: '', tileMaxZoom: 18 };
let config = { ...DEFAULTS };

export async function loadConfig() {
    try {
        const res = await fetch('./config.json', { cache: 'no-cache' });
        if (res.ok) config = { ...DEFAULTS, ...(await res.json()) };
    } catch {
        /* the defaults */
    }
    return config;
}

export function getConfig() {
    return config;
}
