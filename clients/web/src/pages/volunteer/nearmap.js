// nearmap.js -- the tasks nearby on a map, beside their list: my home,
// how far I go, and each task as a dot at its coarse place (task.nearby
// snaps places to a 500 m grid: the exact place is only for whoever is
// assigned). Leaflet is loaded the first time the map is opened
// (lib/map.js, a chunk of its own, never in the first load); without
// tiles (config.json tileUrl) the dots stand on a plain ground. The list
// stays the way to claim: a tap on a dot takes the reader to its card.
import { t } from '../../i18n/index.js';
import { getConfig } from '../../lib/config.js';
import { h } from '../../ui/dom.js';
import { distanceWords } from './geo.js';

const HOME = { radius: 9, weight: 3, color: '#1b5e20', fillColor: '#2e7d32', fillOpacity: 0.9 };
const TASK = { radius: 9, weight: 2, color: '#8e1414', fillColor: '#b71c1c', fillOpacity: 0.6 };
const REACH = { weight: 1, color: '#1b5e20', fillOpacity: 0.04, interactive: false };

/**
 * home(): {lon, lat} or null; radius(): metres; onPick(taskId): a dot
 * was tapped. Returns {node, show(tasks)}: show draws the tasks of the
 * list's latest load (only while the map is open; kept for its opening).
 */
export function nearbyMap({ home, radius, onPick }) {
    const box = h('div', { class: 'map', role: 'region', 'aria-label': t('vol.map.label'), hidden: true });
    const said = h('p', { class: 'status-line', role: 'status' });
    const toggle = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false',
        onclick: () => (box.hidden ? open() : close()) }, t('vol.map.open'));
    const hint = getConfig().tileUrl ? null : h('p', { class: 'hint', hidden: true }, t('vol.map.noTiles'));
    const node = h('div', { class: 'near-map' }, toggle, said, box, hint);
    let m = null;
    let layer = null;
    let tasks = [];

    async function open() {
        const at = home();
        if (!at) {
            said.textContent = t('vol.map.noHome');
            return;
        }
        box.hidden = false;
        if (hint) hint.hidden = false;
        toggle.textContent = t('vol.map.close');
        toggle.setAttribute('aria-expanded', 'true');
        if (!m) {
            said.textContent = t('vol.map.loading');
            try {
                const { createMap } = await import('../../lib/map.js');
                m = await createMap(box, { lon: at.lon, lat: at.lat, zoom: 13 });
                layer = m.L.featureGroup().addTo(m.map);
            } catch {
                said.textContent = t('vol.map.failed');
                box.hidden = true;
                return;
            }
        }
        m.map.invalidateSize();
        draw();
    }

    function close() {
        box.hidden = true;
        if (hint) hint.hidden = true;
        said.textContent = '';
        toggle.textContent = t('vol.map.open');
        toggle.setAttribute('aria-expanded', 'false');
    }

    function draw() {
        if (!m || box.hidden) return;
        layer.clearLayers();
        const at = home();
        if (!at) return;
        const here = [at.lat, at.lon];
        m.L.circle(here, { ...REACH, radius: radius() }).addTo(layer);
        m.L.circleMarker(here, HOME).bindTooltip(t('vol.map.home')).addTo(layer);
        for (const task of tasks) {
            if (typeof task.lon !== 'number' || typeof task.lat !== 'number') continue;
            m.L.circleMarker([task.lat, task.lon], TASK)
                .bindTooltip(`${task.title} · ${distanceWords(task.distance, { about: true })}`)
                .on('click', () => onPick(task.task_id))
                .addTo(layer);
        }
        m.map.fitBounds(layer.getBounds(), { maxZoom: 15, padding: [16, 16] });
        said.textContent = t('vol.map.count', { n: tasks.length });
    }

    return {
        node,
        show(list) {
            tasks = Array.isArray(list) ? list : [];
            draw();
        },
    };
}
