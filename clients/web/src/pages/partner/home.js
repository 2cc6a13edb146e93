// home.js -- a partner's home (#/partner): a greeting, its report over
// every project it adopted (project.report with no project_id: projects,
// pledged, the figures) as the tiles it would show its board, with a
// print button; its projects (project.list {mine}), each with its own
// hours and services; then the projects open for adoption in its scope
// (project.list {status: published}, those not ended), each a way into
// its page, where it is adopted.
import { t } from '../../i18n/index.js';
import { markReady } from '../../lib/ready.js';
import { formatCityTime } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { figureTiles, money, num, periodNodes, regionWords, statusBadge } from '../projects/show.js';
import { partnerError, partnerName } from './words.js';

const PAGE = 20;

/** A project as a card of a list: title, state, where, when, money,
 * and a full-width link to its page. */
function projectCard(pr, tz, { mine = false } = {}) {
    const href = `#/partner?project=${encodeURIComponent(pr.project_id)}`;
    const f = pr.figures || {};
    const lines = [
        h('p', { class: 'meta' }, regionWords(pr.region), ' · ', periodNodes(pr, tz)),
        mine ? h('p', { class: 'meta' }, t('ptn.mineLine', { money: money(pr.pledge), hours: num(f.hours),
            n: f.services || 0 }))
            : h('p', { class: 'meta' }, t('ptn.openLine', { money: money(pr.budget),
                team: pr.team ? pr.team.name : t('proj.noTeam') })),
        pr.description && !mine ? h('p', { class: 'about' }, pr.description) : null,
    ];
    return h('li', { class: 'pcard', 'data-project': pr.project_id },
        h('h3', null, pr.title, ' ', statusBadge(pr)), lines,
        h('a', { class: mine ? 'button secondary wide' : 'button primary wide', href }, mine ? t('ptn.viewReport', { title: pr.title })
            : t('ptn.view', { title: pr.title })));
}

export function homeView(ctx) {
    const tz = ctx.tz();
    const name = partnerName(ctx);
    const client = ctx.client;

    const printBtn = h('button', { type: 'button', class: 'secondary print', hidden: true,
        onclick: () => window.print() }, t('ptn.print'));
    const reportBody = h('div', { class: 'report-body' }, h('p', { class: 'muted', role: 'status' },
        t('ptn.loading')));
    const report = h('section', { class: 'card report', 'aria-labelledby': 'rep-h' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'rep-h' }, t('ptn.report.title')),
            printBtn),
        reportBody);

    const mineList = h('ul', { class: 'plist' });
    const mineSaid = h('p', { class: 'muted', role: 'status' }, t('ptn.loading'));
    const mine = h('section', { class: 'card', 'aria-labelledby': 'mine-h' },
        h('h2', { id: 'mine-h' }, t('ptn.mine.title')), mineSaid, mineList);

    const openList = h('ul', { class: 'plist' });
    const openSaid = h('p', { class: 'muted', role: 'status' }, t('ptn.loading'));
    const more = h('button', { type: 'button', class: 'secondary wide-button', hidden: true,
        onclick: () => loadOpen(true) }, t('ptn.open.more'));
    const open = h('section', { class: 'card', 'aria-labelledby': 'open-h' },
        h('h2', { id: 'open-h' }, t('ptn.open.title')), openSaid, openList, more);

    async function loadReport() {
        try {
            const r = await client.call('project.report');
            const time = formatCityTime(Math.floor(Date.now() / 1000), tz);
            // no project yet: a sentence, not a wall of zeros
            printBtn.hidden = !r.projects;
            reportBody.replaceChildren(
                h('p', { class: r.projects ? 'lead' : null }, r.projects ? t('ptn.report.intro', { name: r.name || name, n: r.projects, time })
                    : t('ptn.report.none')),
                ...(r.projects ? [figureTiles(r.figures, { pledged: r.pledged || 0 })] : []));
        } catch (e) {
            reportBody.replaceChildren(h('p', { class: 'notice', role: 'alert' }, partnerError(e)));
        }
    }

    async function loadMine() {
        try {
            const out = [];
            let cursor = '';
            do { // a partner adopts at most 500: ten pages at most
                const r = await client.call('project.list', { mine: true, limit: 50, ...(cursor ? { cursor } : {}) });
                out.push(...(r.projects || []));
                cursor = r.cursor || '';
            } while (cursor && out.length < 500);
            mineList.replaceChildren(...out.map((pr) => projectCard(pr, tz, { mine: true })));
            mineSaid.textContent = '';
            mineSaid.hidden = true;
            mine.hidden = !out.length; // the report already says there is none
        } catch (e) {
            mineSaid.textContent = partnerError(e);
        }
    }

    let cursor = '';
    async function loadOpen(next) {
        more.disabled = true;
        try {
            let shown = 0;
            // a page may be short (ended ones left out): read on until a
            // page's worth is shown or the list ends
            do {
                const r = await client.call('project.list', { status: 'published', limit: PAGE,
                    ...(next && cursor ? { cursor } : {}) });
                if (!next) openList.replaceChildren();
                next = true;
                const fresh = (r.projects || []).filter((pr) => !pr.ended);
                openList.append(...fresh.map((pr) => projectCard(pr, tz)));
                shown += fresh.length;
                cursor = r.cursor || '';
            } while (cursor && shown < PAGE);
            more.hidden = !cursor;
            openSaid.textContent = openList.childElementCount ? '' : t('ptn.open.none');
            openSaid.hidden = openList.childElementCount > 0;
        } catch (e) {
            openSaid.hidden = false;
            openSaid.textContent = partnerError(e);
        } finally {
            more.disabled = false;
        }
    }

    Promise.allSettled([loadReport(), loadMine(), loadOpen(false)]).then(() => markReady('partner'));
    return h('div', { class: 'partner-home' },
        h('section', { class: 'card' }, h('h1', null, t('partner.title')),
            h('p', { class: 'lead' }, t('ptn.hello', { name })),
            h('p', { class: 'muted' }, t('ptn.intro'))),
        report, mine, open);
}
