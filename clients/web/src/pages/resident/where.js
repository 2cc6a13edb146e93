// where.js -- "where": the phone's location (the first choice), the
// place of the resident's last wish, or, for station staff, coordinates
// typed in; a map to pin the place only when the operator set map tiles
// (config.json tileUrl; Leaflet is loaded then, by lib/map.js, never
// in the first load): a map without tiles shows nothing to pin by.
// read() gives {lon, lat} or an error. The place stays exact: only the
// volunteer on the task and the centre see it (protocol.md, Privacy).
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';

const round6 = (x) => Math.round(x * 1e6) / 1e6;

export function okLonLat(lon, lat) {
    return Number.isFinite(lon) && Number.isFinite(lat) && lon >= -180 && lon <= 180
        && lat >= -85 && lat <= 85;
}

/**
 * opts: values (a draft: {place: {lon, lat, source, accuracy}}, changed
 * in place), last ({lon, lat} of the newest wish, or null), config.
 * Returns {row, read()}.
 */
export function wherePicker({ values = {}, last = null, config = {}, onchange = () => {} }) {
    const v = values;
    const said = h('p', { class: 'place-said', role: 'status', 'aria-live': 'polite' });
    const err = h('p', { class: 'field-error', hidden: true, id: uid('where-err') });
    const gps = h('button', { type: 'button', class: 'primary big', 'aria-describedby': err.id,
        onclick: locate }, t('res.where.gps'));
    let lastPlace = last;
    let lastBtn = null;
    const lastButton = () => h('button', { type: 'button', class: 'secondary big',
        onclick: () => set({ lon: lastPlace.lon, lat: lastPlace.lat, source: 'last' }) },
    t('res.where.last'));

    // Pinning on a map: only with tiles to see by.
    const mapBox = h('div', { class: 'map', hidden: true });
    const mapHint = h('p', { class: 'hint', hidden: true }, t('res.where.mapHint'));
    const mapBtn = config.tileUrl ? h('button', { type: 'button', class: 'secondary big',
        onclick: openMap }, t('res.where.map')) : null;

    // Typed coordinates, for staff helping at a station.
    const lonId = uid('lon');
    const latId = uid('lat');
    const lonIn = h('input', { id: lonId, type: 'text', inputmode: 'decimal',
        autocomplete: 'off', value: v.place?.source === 'typed' ? String(v.place.lon) : '' });
    const latIn = h('input', { id: latId, type: 'text', inputmode: 'decimal',
        autocomplete: 'off', value: v.place?.source === 'typed' ? String(v.place.lat) : '' });
    const typedErr = h('p', { class: 'field-error', hidden: true, id: uid('typed-err') });
    lonIn.setAttribute('aria-describedby', typedErr.id);
    latIn.setAttribute('aria-describedby', typedErr.id);
    const typed = h('details', { class: 'typed', open: v.place?.source === 'typed' },
        h('summary', null, t('res.where.typed')),
        h('div', { class: 'pair' },
            h('div', { class: 'field' }, h('label', { for: lonId }, t('res.where.lon')), lonIn),
            h('div', { class: 'field' }, h('label', { for: latId }, t('res.where.lat')), latIn)),
        typedErr,
        h('button', { type: 'button', class: 'secondary', onclick: useTyped },
            t('res.where.useTyped')));

    function showError(text) {
        err.textContent = text || '';
        err.hidden = !text;
    }

    function paint() {
        const p = v.place;
        if (!p) said.textContent = t('res.where.none');
        else if (p.source === 'gps') {
            said.textContent = t('res.where.gpsOk') + (p.accuracy >= 1
                ? t('res.where.accuracy', { m: Math.round(p.accuracy) }) : '');
        }
        else if (p.source === 'last') said.textContent = t('res.where.lastOk');
        else if (p.source === 'map') said.textContent = t('res.where.mapOk');
        else said.textContent = t('res.where.typedOk', { lon: p.lon, lat: p.lat });
        said.classList.toggle('ok', !!p);
    }

    function set(place) {
        v.place = place;
        showError(null);
        paint();
        onchange();
    }

    function locate() {
        const geo = globalThis.navigator?.geolocation;
        if (!geo) {
            showError(t('res.where.unsupported'));
            return;
        }
        gps.disabled = true;
        said.textContent = t('res.where.gpsBusy');
        geo.getCurrentPosition((pos) => {
            gps.disabled = false;
            set({ lon: round6(pos.coords.longitude), lat: round6(pos.coords.latitude),
                accuracy: pos.coords.accuracy, source: 'gps' });
        }, (e) => {
            gps.disabled = false;
            paint();
            showError(e && e.code === 1 ? t('res.where.denied') : t('res.where.failed'));
            gps.focus();
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    }

    function useTyped() {
        const lon = Number(lonIn.value.trim());
        const lat = Number(latIn.value.trim());
        const ok = lonIn.value.trim() !== '' && latIn.value.trim() !== '' && okLonLat(lon, lat);
        typedErr.textContent = ok ? '' : t('res.where.badTyped');
        typedErr.hidden = ok;
        for (const i of [lonIn, latIn]) {
            if (ok) i.removeAttribute('aria-invalid');
            else i.setAttribute('aria-invalid', 'true');
        }
        if (!ok) {
            lonIn.focus();
            return;
        }
        set({ lon: round6(lon), lat: round6(lat), source: 'typed' });
    }

    let map = null;
    async function openMap() {
        mapBox.hidden = false;
        mapHint.hidden = false;
        if (map) return;
        try {
            const { pinMap } = await import('../../lib/map.js');
            const at = v.place || last || { lon: 117.0009, lat: 36.6758 };
            map = await pinMap(mapBox, { at, onPick: (p) => set({ ...p, source: 'map' }) });
        } catch {
            mapBox.hidden = true;
            showError(t('res.where.mapFailed'));
        }
    }

    paint();
    const buttons = h('div', { class: 'buttons' }, gps, mapBtn);
    function setLast(p) {
        lastPlace = p;
        if (!lastBtn && p) {
            lastBtn = lastButton();
            buttons.insertBefore(lastBtn, mapBtn);
        }
    }
    if (last) setLast(last);
    const row = h('fieldset', { class: 'group' },
        h('legend', null, t('res.where')),
        buttons,
        said, err, mapHint, mapBox, typed);
    return {
        row,
        setLast,
        read() {
            const p = v.place;
            if (!p || !okLonLat(p.lon, p.lat)) {
                showError(t('res.where.needed'));
                return { error: t('res.where.needed'), focus: gps };
            }
            return { lon: p.lon, lat: p.lat };
        },
    };
}
