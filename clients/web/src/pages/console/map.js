// map.js -- the open tasks of the watched scope on a map: Leaflet (a
// dynamic import, lib/map.js: its own chunk) with circle markers, keyed
// by task id and changed as queue events come; tiles only when
// config.json's tileUrl names a server (without one, the markers on a
// plain ground). A click on the map gives its place to the task form.
import { lang, t } from '../../i18n/index.js';
import { createMap } from '../../lib/map.js';
import { getConfig } from '../../lib/config.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { isLate } from './model.js';

const CENTRE = { lon: 117.061237, lat: 36.671913 }; // Lixia, Jinan

export function mapPanel({ tz, tasks, onPlace }) {
    const box = h('div', { class: 'mapbox', role: 'region', 'aria-label': t('con.mapLabel') });
    const info = h('p', { class: 'muted', role: 'status' }, t('con.mapLoading'));
    const el = h('section', { class: 'panel', 'aria-labelledby': 'map-h' },
        h('h2', { id: 'map-h' }, t('con.tool.map')), info, box,
        getConfig().tileUrl ? null : h('p', { class: 'hint' }, t('con.mapNoTiles')));
    let m = null;
    let loading = null;
    const marks = new Map(); // task_id -> circle marker

    function style(task) {
        const late = isLate(task, Math.floor(Date.now() / 1000));
        return { radius: 8, weight: 2, color: late ? '#8e1414' : '#0b57d0',
            fillColor: late ? '#b71c1c' : '#0b57d0', fillOpacity: 0.6 };
    }

    function label(task) {
        return `${task.title} · ${skillLabel(task.skill)} · ${formatCityWhen(task.start, tz(), lang())}`
            + ` · ${task.filled || 0}/${task.quantity || 1}`;
    }

    function put(task) {
        if (!m) return;
        const old = marks.get(task.task_id);
        if (task.status !== 'open' || typeof task.lon !== 'number') {
            if (old) { old.remove(); marks.delete(task.task_id); }
            return;
        }
        if (old) {
            old.setLatLng([task.lat, task.lon]).setStyle(style(task));
            old.setTooltipContent(label(task));
            return;
        }
        const c = m.L.circleMarker([task.lat, task.lon], style(task)).addTo(m.map);
        c.bindTooltip(label(task));
        marks.set(task.task_id, c);
    }

    function paintCount() {
        info.textContent = t('con.mapCount', { n: marks.size });
    }

    async function show() {
        if (!loading) {
            loading = (async () => {
                const first = tasks().find((x) => typeof x.lon === 'number') || CENTRE;
                m = await createMap(box, { lon: first.lon, lat: first.lat, zoom: 13 });
                m.map.on('click', (e) => onPlace(e.latlng.lng, e.latlng.lat));
            })().catch(() => { info.textContent = t('con.mapFailed'); loading = null; });
        }
        await loading;
        if (!m) return;
        m.map.invalidateSize();
        reset();
    }

    function reset() {
        if (!m) return;
        for (const c of marks.values()) c.remove();
        marks.clear();
        for (const task of tasks()) put(task);
        paintCount();
        if (marks.size) m.map.fitBounds(m.L.featureGroup([...marks.values()]).getBounds(), { maxZoom: 15, padding: [20, 20] });
    }

    return {
        el,
        show,
        reset,
        update(task) {
            if (!m) return;
            put(task);
            paintCount();
        },
        destroy() { m?.map.remove(); m = null; },
    };
}
