// map.js -- Leaflet, loaded only by the pages that draw a map (a dynamic
// import: its JS and CSS are a chunk of their own, not in the first
// load). Tiles come from config.json's tileUrl; without one the map has
// no background but markers and circles still show.
//
//   const map = await createMap(el, { lon: 117.06, lat: 36.67, zoom: 14 });
//   map.L.marker([lat, lon]).addTo(map.map);
import { getConfig } from './config.js';

let leaflet = null;

export async function loadLeaflet() {
    if (!leaflet) {
        const [mod] = await Promise.all([import('leaflet'),
            import('leaflet/dist/leaflet.css')]);
        leaflet = mod.default || mod;
    }
    return leaflet;
}

export async function createMap(el, { lon, lat, zoom = 14 } = {}) {
    const L = await loadLeaflet();
    const cfg = getConfig();
    const map = L.map(el, { zoomControl: true, attributionControl: !!cfg.tileUrl })
        .setView([lat, lon], zoom);
    if (cfg.tileUrl) {
        L.tileLayer(cfg.tileUrl, { maxZoom: cfg.tileMaxZoom || 18,
            attribution: cfg.tileAttribution || '' }).addTo(map);
    }
    return { L, map };
}
