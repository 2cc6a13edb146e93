// map.js -- Leaflet, loaded only by the pages that draw a map (a dynamic
// import: its JS and CSS are a chunk of their own, not in the first
// load). Tiles come from config.json's tileUrl; without one the map has
// no background but markers and circles still show.
//
//   const map = await createMap(el, { lon: 117.06, lat: 36.67, zoom: 14 });
//   map.L.marker([lat, lon]).addTo(map.map);
//   await pinMap(el, { at: { lon, lat }, onPick: ({ lon, lat }) => ... });
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

const round6 = (x) => Math.round(x * 1e6) / 1e6; // about 0.1 m

// A map in el centred on `at` ({lon, lat}) to pin a place by: a click
// (a tap) puts the one marker there and calls onPick({lon, lat}),
// rounded to six decimals. Resolves to {L, map}. Only worth offering
// with tiles (config.json tileUrl): a plain ground shows nothing to
// pin by.
export async function pinMap(el, { at, zoom = 16, onPick }) {
    const m = await createMap(el, { lon: at.lon, lat: at.lat, zoom });
    let marker = null;
    m.map.on('click', (e) => {
        if (marker) marker.setLatLng(e.latlng);
        else marker = m.L.circleMarker(e.latlng, { radius: 10 }).addTo(m.map);
        onPick({ lon: round6(e.latlng.lng), lat: round6(e.latlng.lat) });
    });
    return m;
}
