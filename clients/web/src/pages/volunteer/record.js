// record.js -- my service record (me: hours, points, rating), with my
// service certificate to download (certificate.issue: a PDF), and this
// quarter's board of the city (board: volunteers, teams, districts).
import { t } from '../../i18n/index.js';
import { saveFile } from '../../lib/savefile.js';
import { h, mount } from '../../ui/dom.js';
import { regionWords, volError } from './format.js';

const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);

// The certificate's refusals in words (docs/protocol.md, "Service
// certificates").
function certError(e) {
    if (e && e.code === 'NOT_FOUND') return t('vol.cert.none');
    if (e && e.code === 'CONFLICT') return t('vol.cert.tooMany');
    return volError(e);
}

// The button that asks for my certificate of the last 365 days and
// downloads its PDF; its number and verification code are said below.
function certificateButton(ctx) {
    const said = h('p', { class: 'status-line', role: 'status' });
    const btn = h('button', { type: 'button', onclick: async () => {
        btn.disabled = true;
        said.textContent = t('vol.cert.making');
        try {
            const r = await ctx.client.call('certificate.issue', {});
            if (!(r.pdf instanceof Uint8Array)) throw new Error('no pdf');
            saveFile(r.pdf, `certificate-${r.no}.pdf`, 'application/pdf');
            said.textContent = t('vol.cert.done', { no: r.no, code: r.code });
        } catch (e) {
            said.textContent = certError(e);
        } finally {
            btn.disabled = false;
        }
    } }, t('vol.cert.download'));
    return h('div', { class: 'cert' }, btn, said);
}

export function recordSection(ctx, store) {
    const facts = h('dl', { class: 'stats' });
    const node = h('section', { class: 'card', 'aria-labelledby': 'rec-h' },
        h('h2', { id: 'rec-h' }, t('vol.rec.title')), facts, certificateButton(ctx));
    function paint() {
        const me = store.me || {};
        const items = [
            [t('vol.rec.hours'), num(me.hours)],
            [t('vol.rec.points'), num(me.points)],
            [t('vol.rec.rating'), me.ratings ? t('vol.rec.stars', { stars: num(me.rating), n: me.ratings })
                : t('vol.rec.noRating')],
        ];
        facts.replaceChildren(...items.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
    }
    return { node, paint };
}

export function boardSection(ctx, store) {
    const body = h('div');
    const said = h('p', { class: 'status-line', role: 'status' });
    const node = h('section', { class: 'card', 'aria-labelledby': 'board-h' },
        h('h2', { id: 'board-h' }, t('vol.board.title')), said, body);
    async function load() {
        try {
            const b = await ctx.client.call('board', {});
            said.textContent = '';
            const me = ctx.login?.user;
            const vols = Array.isArray(b.volunteers) ? b.volunteers : [];
            const dists = Array.isArray(b.districts) ? b.districts : [];
            const groups = Array.isArray(b.teams) ? b.teams : [];
            mount(body,
                h('p', null, t('vol.board.summary', { quarter: b.quarter, done: b.tasks_done || 0,
                    rating: b.ratings ? t('vol.board.stars', { n: num(b.rating) }) : t('vol.board.noRating') })),
                vols.length ? h('ol', { class: 'league' }, vols.map((v) => h('li',
                    { class: v.id === me ? 'me' : null },
                    v.name || v.id, v.id === me ? ` ${t('vol.board.you')}` : '',
                    ' · ', t('vol.board.hours', { hours: num(v.hours) }))))
                    : h('p', { class: 'muted' }, t('vol.board.empty')),
                groups.length ? h('h3', null, t('team.board')) : null,
                groups.length ? h('ol', { class: 'league teams-league' }, groups.map((g) => h('li', null,
                    g.name || g.team_id, ' · ', t('vol.board.hours', { hours: num(g.hours) }))))
                    : null,
                dists.length ? h('h3', null, t('vol.board.districts')) : null,
                dists.length ? h('ul', { class: 'league' }, dists.map((d) => h('li', null,
                    regionWords(d.region) || d.region, ' · ', t('vol.board.hours', { hours: num(d.hours) }))))
                    : null);
        } catch (e) {
            said.textContent = volError(e);
        }
    }
    return { node, load };
}
