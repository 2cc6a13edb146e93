// format.js -- a task in words for the volunteer page: what, when (in
// the city's time), where (coarse or exact), and the refusals of the
// volunteer's calls in words.
import { lang, t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';
import { regionLine } from '../../lib/regions.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityTime, formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { distanceWords } from './geo.js';

/** "12月7日 周一 13:05–14:05" (the end's date when it differs). */
export function whenWords(task, tz) {
    if (!task || !task.start) return '';
    const from = formatCityWhen(task.start, tz, lang());
    const sameDay = formatCityTime(task.start, tz, { time: false })
        === formatCityTime(task.end, tz, { time: false });
    const to = sameDay ? formatCityTime(task.end, tz, { date: false })
        : formatCityWhen(task.end, tz, lang());
    return `${from}–${to}`;
}

/** A region path below the city in words ("jinan/lixia/quancheng/xinhe"
 * -> "历下区 泉城路街道 新和社区", "Xinhe, Quancheng Road, Lixia"; codes
 * where config.json names none: lib/regions.js). */
export function regionWords(region) {
    return region ? regionLine(region, 1) : '';
}

/** A task's lines: title, skill, when, where; `extra` appended. */
export function taskLines(task, tz, { distance, exact = false } = {}) {
    const rows = [
        [t('vol.task.skill'), skillLabel(task.skill)],
        [t('vol.task.when'), whenWords(task, tz)],
        [t('vol.task.where'), exact ? placeWords(task) : [regionWords(task.region),
            distance !== undefined && distance !== null
                ? ` (${distanceWords(distance, { about: true })})` : ''].join('')],
    ];
    if (exact && task.note) rows.push([t('vol.task.note'), task.note]);
    return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** An exact place: the community and the coordinates, with a link that
 * opens the phone's own map app (geo: URI). */
export function placeWords(task) {
    const coords = `${Number(task.lat).toFixed(5)}, ${Number(task.lon).toFixed(5)}`;
    return [regionWords(task.region), h('br'),
        h('a', { href: `geo:${task.lat},${task.lon}`, 'aria-label': t('vol.task.openMap', { coords }) },
            coords)];
}

const FAR = /you are (\d+) m from the task; check in within (\d+) m/;
const MINE = /your assignment to task \S+ is (\w+)/;

/** The state the server says my assignment is in, from a refusal. */
export function assignmentStateOf(e) {
    const m = e && e.code === 'CONFLICT' ? MINE.exec(e.message || '') : null;
    return m ? m[1] : null;
}

/** A refusal of a volunteer's call in words. */
export function volError(e, tz) {
    const msg = (e && e.message) || '';
    if (e && e.code === 'CONFLICT') {
        let m = FAR.exec(msg);
        if (m) return t('vol.err.far', { d: distanceWords(+m[1]), max: distanceWords(+m[2]) });
        if (/check-in opens 30 minutes before/.test(msg)) return t('vol.err.early');
        if (/has ended/.test(msg)) return t('vol.err.ended');
        m = MINE.exec(msg);
        if (m) return t('vol.err.state', { state: t(`vol.state.${m[1]}`) });
        if (/^offer \S+ (is|has)/.test(msg)) return t('vol.err.offerGone');
        if (/clashes/.test(msg)) return t('vol.err.clash');
        if (/max_active/.test(msg)) return t('vol.err.maxActive');
        if (/already on task/.test(msg)) return t('vol.err.already');
        if (/^task \S+ is /.test(msg)) return t('vol.err.taken');
    }
    if (e && e.code === 'FORBIDDEN' && /skill/.test(msg)) return t('vol.err.skill');
    if (e && e.code === 'BAD_REQUEST' && /lon and lat/.test(msg)) return t('vol.err.noHome');
    if (e && e.code === 'BAD_REQUEST' && /outside/.test(msg)) return t('vol.err.outside');
    if (e && e.code === 'DISCONNECTED') return t('vol.err.disconnected');
    void tz;
    return anyError(e);
}
