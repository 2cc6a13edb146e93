// show.js -- a project (项目) and its figures in words, for the partner's
// page (pages/partner/) and the console's projects (console/projects.js):
// money in yuan, the period in the city's dates, the status, the facts
// of a project, and the figures (tasks done, hours, services, volunteers,
// rating, pledged) as large tiles an enterprise can show its board.
// docs/protocol.md, "Projects and caring partners".
import { addWords, lang, t } from '../../i18n/index.js';
import projEn from '../../i18n/projects.lazy.en.js';
import projZh from '../../i18n/projects.lazy.zh-CN.js';
import { regionLine } from '../../lib/regions.js';
import { formatCityTime } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import './projects.css';

addWords(projZh, projEn); // with whichever chunk shows a project first

/** Whole yuan in words: "50,000 元" / "¥50,000". */
export function money(n) {
    const v = Math.round(Number(n) || 0);
    if (lang() === 'en') return t('proj.yuan', { n: v.toLocaleString('en') });
    return t('proj.yuan', { n: v.toLocaleString('zh-CN') });
}

/** A number of hours or stars, at most two decimals, no trailing zeros. */
export const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);

/** The city's date of Unix seconds ts: "2026-12-07". */
export const day = (ts, tz) => formatCityTime(ts, tz, { time: false });

/** "2026-01-01 至 2026-12-31". */
export function period(pr, tz) {
    return t('proj.period', { from: day(pr.start, tz), to: day(pr.end, tz) });
}

/** The period with each date kept whole on its line (nodes). */
export function periodNodes(pr, tz) {
    const [a, b] = t('proj.period', { from: '\u0000', to: '\u0001' }).split(/[\u0000\u0001]/);
    return [a, h('span', { class: 'nowrap' }, day(pr.start, tz)), b, h('span', { class: 'nowrap' }, day(pr.end, tz))];
}

/** The project's state in a word: 待认领, 已认领, 已结束. */
export function statusWord(pr) {
    if (pr.ended) return t('proj.status.ended');
    return t(`proj.status.${pr.status === 'adopted' ? 'adopted' : 'published'}`);
}

/** A badge with the state, coloured by it. */
export function statusBadge(pr) {
    const cls = pr.ended ? 'ended' : pr.status === 'adopted' ? 'adopted' : 'published';
    return h('span', { class: `pstatus ${cls}` }, statusWord(pr));
}

/** A region below the city in words ("历下区 泉城路街道"). */
export const regionWords = (r) => (r ? regionLine(r, 1) : '');

/** The facts of a project as a list: region, period, budget, team,
 * tasks linked; `extra` [label, value] pairs appended. */
export function projectFacts(pr, tz, extra = []) {
    const rows = [
        [t('proj.region'), regionWords(pr.region)],
        [t('proj.when'), period(pr, tz)],
        [t('proj.budget'), money(pr.budget)],
        [t('proj.team'), pr.team ? pr.team.name || pr.team.team_id : t('proj.noTeam')],
        [t('proj.linked'), t('proj.linkedVal', { n: pr.linked || 0 })],
        ...extra,
    ];
    return h('dl', { class: 'pfacts' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
}

/** The figures as tiles: {tasks_done, hours, services, volunteers,
 * rating, ratings}; with `pledged` the money first. */
export function figureTiles(f = {}, { pledged } = {}) {
    // two a row on a phone; the money and the rating (the longest) each
    // alone on its row
    const tiles = [];
    if (pledged !== undefined) tiles.push(['pledged', money(pledged), true]);
    tiles.push(
        ['hours', t('proj.fig.hoursVal', { n: num(f.hours) })],
        ['services', t('proj.fig.servicesVal', { n: f.services || 0 })],
        ['volunteers', t('proj.fig.volunteersVal', { n: f.volunteers || 0 })],
        ['tasks_done', t('proj.fig.tasksVal', { n: f.tasks_done || 0 })],
        ['rating', f.ratings ? t('proj.fig.ratingVal', { stars: num(f.rating), n: f.ratings })
            : t('proj.fig.noRating'), true],
    );
    return h('dl', { class: 'ptiles' }, tiles.map(([k, v, wide]) => h('div', { class: ['tile', `t-${k}`, wide && 'wide'], 'data-fig': k },
        h('dt', null, t(`proj.fig.${k}`)), h('dd', null, v))));
}
