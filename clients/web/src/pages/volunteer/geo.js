// geo.js -- where the phone is (navigator.geolocation, asked only on a
// tap), distances, and the words for them.
import { t } from '../../i18n/index.js';

/** {lon, lat, accuracy} of the phone, or throws an Error whose `code`
 * is 'unsupported', 'denied', 'unavailable' or 'timeout'. */
export function herePosition({ timeoutMs = 15000 } = {}) {
    return new Promise((resolve, reject) => {
        const geo = globalThis.navigator?.geolocation;
        if (!geo) {
            const e = new Error('no geolocation');
            e.code = 'unsupported';
            reject(e);
            return;
        }
        geo.getCurrentPosition(
            (p) => resolve({ lon: round6(p.coords.longitude), lat: round6(p.coords.latitude),
                accuracy: p.coords.accuracy }),
            (err) => {
                const e = new Error(err.message || 'geolocation failed');
                e.code = err.code === 1 ? 'denied' : err.code === 3 ? 'timeout' : 'unavailable';
                reject(e);
            },
            { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 0 });
    });
}

const round6 = (x) => Math.round(x * 1e6) / 1e6;

/** The words for a failed herePosition. */
export function geoError(e) {
    return t(`vol.geo.${['unsupported', 'denied', 'timeout'].includes(e.code) ? e.code : 'unavailable'}`);
}

/** Metres between two points (haversine, as the server's distance). */
export function metres(lon1, lat1, lon2, lat2) {
    const R = 6372797.560856; // Redis GEO's earth radius
    const rad = Math.PI / 180;
    const dLat = (lat2 - lat1) * rad;
    const dLon = (lon2 - lon1) * rad;
    const a = Math.sin(dLat / 2) ** 2
        + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(a));
}

/** "350 米" / "1.2 公里" (about, for a coarse distance: "约 1.2 公里"). */
export function distanceWords(m, { about = false } = {}) {
    const n = Math.max(0, Math.round(m));
    if (about && n < 100) return t('vol.dist.near');
    const s = n < 1000 ? t('vol.dist.m', { n }) : t('vol.dist.km', { n: (n / 1000).toFixed(1) });
    return about ? t('vol.dist.about', { d: s }) : s;
}
