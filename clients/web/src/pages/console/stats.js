// stats.js -- the watched scope's figures (stats: the median time from
// open to an assignment, offers by how they ended, open tasks past their
// start) and the quarter's board (board: districts, volunteers and teams by
// hours, rating, services done), and beside them the region's projects
// (project.adoption: published, adopted, by how many partners, the money
// wanted and pledged, and the figures of their service). Asked when
// shown, then every 15 s while shown (each stats call costs 10 of the
// user's rate tokens).
import { t } from '../../i18n/index.js';
import { formatCityTime } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { consoleError } from './errors.js';
import { figureTiles, money } from '../projects/show.js';
import { regionName } from './regions.js';

/** Seconds in words: "3 分 20 秒" / "3 min 20 s"; hours past an hour. */
export function duration(s) {
    s = Math.round(s);
    if (s < 60) return t('con.dur.s', { s });
    if (s < 3600) return t('con.dur.m', { m: Math.floor(s / 60), s: s % 60 });
    return t('con.dur.h', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

function dl(pairs) {
    return h('dl', { class: 'figures' }, pairs.map(([k, v, cls]) => [
        h('dt', null, k), h('dd', { class: cls || null }, v)]));
}

export function statsPanel({ client, scope, tz, onStats = () => {} }) {
    const body = h('div', { class: 'stats-body' });
    const board = h('div', { class: 'board-body' });
    const adoption = h('div', { class: 'adoption-body' });
    const info = h('p', { class: 'muted', role: 'status' });
    const refresh = h('button', { type: 'button', class: 'secondary small', onclick: () => load() },
        t('con.refresh'));
    const el = h('section', { class: 'panel', 'aria-labelledby': 'stats-h' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'stats-h' }, t('con.tool.stats')), refresh),
        info, body, adoption, board);
    let timer = 0;

    function paintStats(s) {
        const o = s.offers || {};
        body.replaceChildren(
            h('h3', null, t('con.statsOf', { region: regionName(s.region, '') })),
            dl([
                [t('con.median'), s.matched > 0 ? duration(s.median_match_s || 0) : t('con.medianNone')],
                [t('con.matched'), String(s.matched || 0)],
                [t('con.unmatchedPast'), String(s.unmatched_past_start || 0),
                    s.unmatched_past_start > 0 ? 'warn' : null],
            ]),
            h('h3', null, t('con.offersTitle')),
            h('table', { class: 'mini' },
                h('thead', null, h('tr', null, ['sent', 'accepted', 'declined', 'lapsed'].map((k) => h('th', { scope: 'col' }, t(`con.offer.${k}`))))),
                h('tbody', null, h('tr', null, ['sent', 'accepted', 'declined', 'lapsed'].map((k) => h('td', null, String(o[k] || 0)))))),
            h('h3', null, t('con.countsTitle')),
            h('table', { class: 'mini' },
                h('thead', null, h('tr', null, Object.keys(s.counts || {}).map((k) => h('th', { scope: 'col' }, t(`status.${k}`))))),
                h('tbody', null, h('tr', null, Object.values(s.counts || {}).map((v) => h('td', null, String(v)))))));
    }

    function paintBoard(b) {
        const vols = b.volunteers || [];
        const dists = b.districts || [];
        const groups = b.teams || [];
        board.replaceChildren(
            h('h3', null, t('con.boardTitle', { quarter: b.quarter || '', region: regionName(b.region, '') })),
            dl([
                [t('con.tasksDone'), String(b.tasks_done || 0)],
                [t('con.rating'), b.ratings ? t('con.ratingValue', { stars: Number(b.rating || 0).toFixed(1), n: b.ratings }) : t('con.none')],
            ]),
            h('h4', null, t('con.boardDistricts')),
            dists.length ? h('table', { class: 'mini rank' },
                h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('con.col.rank')),
                    h('th', { scope: 'col' }, t('con.col.region')), h('th', { scope: 'col' }, t('con.col.hours')))),
                h('tbody', null, dists.map((d, i) => h('tr', null, h('td', null, String(i + 1)),
                    h('td', null, regionName(d.region, b.region)), h('td', null, t('con.hours', { n: Number(d.hours || 0).toFixed(1) }))))))
                : h('p', { class: 'muted' }, t('con.none')),
            h('h4', null, t('con.boardVolunteers')),
            vols.length ? h('table', { class: 'mini rank' },
                h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('con.col.rank')),
                    h('th', { scope: 'col' }, t('con.col.name')), h('th', { scope: 'col' }, t('con.col.hours')))),
                h('tbody', null, vols.map((v, i) => h('tr', null, h('td', null, String(i + 1)),
                    h('td', null, v.name && v.name !== v.id ? `${v.name}（${v.id}）` : v.id),
                    h('td', null, t('con.hours', { n: Number(v.hours || 0).toFixed(1) }))))))
                : h('p', { class: 'muted' }, t('con.none')),
            h('h4', null, t('team.board')),
            groups.length ? h('table', { class: 'mini rank teams-rank' },
                h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('con.col.rank')),
                    h('th', { scope: 'col' }, t('team.con.team')), h('th', { scope: 'col' }, t('con.col.hours')))),
                h('tbody', null, groups.map((g, i) => h('tr', null, h('td', null, String(i + 1)),
                    h('td', null, g.name || g.team_id),
                    h('td', null, t('con.hours', { n: Number(g.hours || 0).toFixed(1) }))))))
                : h('p', { class: 'muted' }, t('con.none')));
    }

    // The figures the districts report on projects (项目认领).
    function paintAdoption(a) {
        adoption.replaceChildren(
            h('h3', null, t('proj.con.adoption', { region: regionName(a.region, '') })),
            dl([
                [t('proj.con.a.published'), t('proj.fig.projectsVal', { n: a.published || 0 })],
                [t('proj.con.a.adopted'), t('proj.fig.projectsVal', { n: a.adopted || 0 })],
                [t('proj.con.a.partners'), t('proj.con.a.partnersVal', { n: a.partners || 0 })],
                [t('proj.con.a.budget'), money(a.budget)],
                [t('proj.con.a.pledged'), money(a.pledged)],
            ]),
            figureTiles(a.figures));
    }

    async function load() {
        const region = scope();
        const [s, b, a] = await Promise.allSettled([client.call('stats', { region }),
            client.call('board', { region }), client.call('project.adoption', { region })]);
        if (region !== scope()) return;
        if (a.status === 'fulfilled') paintAdoption(a.value);
        if (s.status === 'fulfilled') {
            paintStats(s.value);
            onStats(s.value);
        }
        if (b.status === 'fulfilled') paintBoard(b.value);
        const bad = [s, b, a].find((x) => x.status === 'rejected');
        info.textContent = bad ? consoleError(bad.reason, 'stats')
            : t('con.updatedAt', { time: formatCityTime(Math.floor(Date.now() / 1000), tz(), { date: false }) });
    }

    return {
        el,
        show() {
            load();
            clearInterval(timer);
            timer = setInterval(load, 15000);
        },
        hide() { clearInterval(timer); timer = 0; },
        load,
    };
}
