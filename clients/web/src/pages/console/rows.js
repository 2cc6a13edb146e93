// rows.js -- one task of the live queue as a table row: start and end,
// the task in words, its people, its buttons. A row is built once and
// then filled again as events come; fill() rewrites only the cells
// whose inputs changed (each cell keeps the key of what it shows), so
// an event that moves only the offers count touches one cell, not four.
//
// Late tasks (open, places free, start passed) are marked in words and
// colour; the caller re-fills rows as the clock moves.
import { lang, t } from '../../i18n/index.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityTime, formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { assigneesOf, isLate } from './model.js';
import { regionName } from './regions.js';

/** Replaces el's children with the given nodes, skipping empty ones. */
const fill = (el, ...kids) => el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false && k !== ''));

// A row's frame (its cells and the start's two lines), cloned for each
// new row: one native call instead of a dozen h() calls and attribute
// writes, 500 times over when a snapshot comes.
let frame = null;
function rowFrame() {
    const td = (cls, ...kids) => h('td', { role: 'cell', class: cls }, ...kids);
    frame = frame || h('tr', { role: 'row' },
        td('c-when', h('span', { class: 'when' }), h('span', { class: 'until' })),
        td('c-task'), td('c-people'), td('c-act'));
    return frame.cloneNode(true);
}

/** The row maker of one queue view. tz() is the city's offset, base()
 * the watched scope (regions are named below it), actions(task) the
 * row's buttons (actions.js). */
export function rowMaker({ tz, base, actions }) {
    // the cell's two lines are the frame's: only their text changes
    function paintWhen(cell, task) {
        const sameDay = formatCityTime(task.start, tz(), { time: false })
            === formatCityTime(task.end, tz(), { time: false });
        cell.firstChild.textContent = formatCityWhen(task.start, tz(), lang());
        cell.lastChild.textContent = `– ${sameDay
            ? formatCityTime(task.end, tz(), { date: false })
            : formatCityWhen(task.end, tz(), lang())}`;
    }

    // a queue has a handful of regions: each named once per scope and
    // language
    const names = new Map();
    let namesKey = '';
    function placeName(region) {
        const key = `${base()} ${lang()}`;
        if (namesKey !== key) {
            names.clear();
            namesKey = key;
        }
        if (!names.has(region)) names.set(region, regionName(region, base()));
        return names.get(region);
    }

    function paintTask(cell, task) {
        fill(cell,
            h('span', { class: 'title' }, task.title),
            h('span', { class: 'meta' },
                h('span', { class: 'skill' }, skillLabel(task.skill)), ' · ',
                placeName(task.region), ' · ',
                h('span', { class: 'tid' }, task.task_id),
                task.kind && task.kind !== 'post' ? ` · ${t(`con.kind.${task.kind}`)}` : '',
                task.project_id ? [' · ', h('span', { class: 'proj' }, t('proj.con.badge', { id: task.project_id }))] : null),
            task.requester ? h('span', { class: 'meta' }, t('con.requester', { user: task.requester })) : null,
            task.note ? h('span', { class: 'note' }, task.note) : null);
    }

    function paintPeople(cell, task, late, who) {
        fill(cell,
            h('span', { class: 'places' }, t('con.places', { filled: task.filled || 0, quantity: task.quantity || 1 }),
                task.offers > 0 ? h('span', { class: 'offers' }, ' · ', t('con.offers', { n: task.offers })) : null),
            late ? h('span', { class: 'badge late' }, t('con.lateBadge')) : null,
            ...(who.length ? who.map((a) => h('span', { class: 'person' },
                a.name && a.name !== a.volunteer_id ? `${a.name}（${a.volunteer_id}）` : a.volunteer_id,
                ' ', h('span', { class: `asg a-${a.status}` }, t(`con.asg.${a.status}`))))
                : [h('span', { class: 'muted nobody' }, t('con.nobody'))]));
    }

    /** Shows task in row r (r.task becomes task); a cell is rewritten
     * only when what it shows changed. now: Unix seconds. */
    function fillRow(r, task, now = Math.floor(Date.now() / 1000)) {
        r.task = task;
        const { cells, keys } = r;
        const when = `${task.start}/${task.end}`;
        if (keys.when !== when) {
            paintWhen(cells.when, task);
            keys.when = when;
        }
        const what = JSON.stringify([task.title, task.note, task.skill, task.region, task.kind, task.requester,
            task.project_id]);
        if (keys.task !== what) {
            paintTask(cells.task, task);
            keys.task = what;
        }
        const late = isLate(task, now);
        const who = assigneesOf(task);
        const people = JSON.stringify([task.filled, task.quantity, task.offers, late,
            who.map((a) => [a.volunteer_id, a.name, a.status])]);
        if (keys.people !== people) {
            paintPeople(cells.people, task, late, who);
            keys.people = people;
        }
        const acts = `${task.status} ${task.project_id || ''}`; // linking takes a button away
        if (keys.status !== acts) {
            cells.act.replaceChildren(h('div', { class: 'acts' }, actions(task)));
            keys.status = acts;
        }
        if (r.late !== late) {
            r.tr.classList.toggle('late', late);
            r.late = late;
        }
    }

    /** A new row for task: {tr, cells, keys, task, late}. */
    function buildRow(task, now) {
        const tr = rowFrame();
        tr.setAttribute('data-task', task.task_id);
        const [when, what, people, act] = tr.children;
        const cells = { when, task: what, people, act };
        const r = { tr, cells, keys: {}, task: null, late: false };
        fillRow(r, task, now);
        return r;
    }

    return { buildRow, fillRow };
}
