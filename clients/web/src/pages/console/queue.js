// queue.js -- the live queue on screen: one table per queued status
// (review, open, filled), rows soonest first, keyed by task id. An event
// changes only its task's row: update(task, prev) marks it, and the next
// frame moves, fills or removes the rows marked since the last (one
// flush per frame, however many events came). Nothing is rendered again
// whole except after a fresh snapshot (reset()).
//
// The rows are CSS grids with content-visibility: auto (console.css),
// with the table's roles said explicitly: the browser lays out and
// paints only the rows on screen, so a change to a 500-row queue costs
// what the visible rows cost.
//
// Late tasks (open, places free, start passed) are marked in words and
// colour; tick() re-checks them every 30 s as the clock moves.
import { lang, t } from '../../i18n/index.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityTime, formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { QUEUED, assigneesOf, cmpTask, isLate } from './model.js';
import { regionName } from './regions.js';

/** Replaces el's children with the given nodes, skipping empty ones. */
const fill = (el, ...kids) => el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false && k !== ''));

/** Binary search: the index of the first entry of arr (tasks, sorted)
 * after task. */
function insertAt(arr, task) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmpTask(arr[mid], task) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

export function queueView({ tz, scope, actions }) {
    const groups = {};
    const rows = new Map(); // task_id -> {tr, cells, task, late, status}
    const dirty = new Map(); // task_id -> task (after) or null (gone)
    let frame = 0;
    let base = scope();

    for (const status of QUEUED) {
        const hid = `q-${status}-h`;
        const count = h('span', { class: 'count' });
        const tbody = h('tbody', { role: 'rowgroup' });
        const empty = h('p', { class: 'muted empty' }, t('con.queueEmpty'));
        const th = (cls, key) => h('th', { scope: 'col', role: 'columnheader', class: cls }, t(key));
        const table = h('table', { class: 'queue', role: 'table', 'aria-labelledby': hid },
            h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' },
                th('c-when', 'con.col.start'), th('c-task', 'con.col.task'),
                th('c-people', 'con.col.people'),
                th('c-act', 'con.col.actions'))),
            tbody);
        const el = h('section', { class: `qgroup q-${status}`, 'data-status': status },
            h('h3', { id: hid }, h('span', { class: `dot s-${status}`, 'aria-hidden': 'true' }),
                t(`status.${status}`), ' ', count),
            empty, table);
        groups[status] = { el, tbody, count, empty, table, list: [] };
    }
    const el = h('div', { class: 'groups' }, QUEUED.map((s) => groups[s].el));

    // ------------------------------------------------------------ a row
    function buildRow(task) {
        const td = (cls) => h('td', { role: 'cell', class: cls });
        const cells = { when: td('c-when'), task: td('c-task'), people: td('c-people'),
            act: td('c-act') };
        const tr = h('tr', { role: 'row', 'data-task': task.task_id },
            cells.when, cells.task, cells.people, cells.act);
        const r = { tr, cells, task: null, late: null, status: null };
        fillRow(r, task);
        return r;
    }

    function fillRow(r, task) {
        const old = r.task;
        r.task = task;
        const { cells } = r;
        if (!old || old.start !== task.start || old.end !== task.end) {
            const sameDay = formatCityTime(task.start, tz(), { time: false })
                === formatCityTime(task.end, tz(), { time: false });
            fill(cells.when,
                h('span', { class: 'when' }, formatCityWhen(task.start, tz(), lang())),
                h('span', { class: 'until' }, '– ', sameDay
                    ? formatCityTime(task.end, tz(), { date: false })
                    : formatCityWhen(task.end, tz(), lang())));
        }
        if (!old || old.title !== task.title || old.note !== task.note) {
            fill(cells.task,
                h('span', { class: 'title' }, task.title),
                h('span', { class: 'meta' },
                    h('span', { class: 'skill' }, skillLabel(task.skill)), ' · ',
                    regionName(task.region, base), ' · ',
                    h('span', { class: 'tid' }, task.task_id),
                    task.kind && task.kind !== 'post' ? ` · ${t(`con.kind.${task.kind}`)}` : ''),
                task.requester ? h('span', { class: 'meta' }, t('con.requester', { user: task.requester })) : null,
                task.note ? h('span', { class: 'note' }, task.note) : null);
        }
        const lateNow = isLate(task, Math.floor(Date.now() / 1000));
        const who = assigneesOf(task);
        fill(cells.people,
            h('span', { class: 'places' }, t('con.places', { filled: task.filled || 0, quantity: task.quantity || 1 }),
                task.offers > 0 ? h('span', { class: 'offers' }, ' · ', t('con.offers', { n: task.offers })) : null),
            lateNow ? h('span', { class: 'badge late' }, t('con.lateBadge')) : null,
            ...(who.length ? who.map((a) => h('span', { class: 'person' },
                a.name && a.name !== a.volunteer_id ? `${a.name}（${a.volunteer_id}）` : a.volunteer_id,
                ' ', h('span', { class: `asg a-${a.status}` }, t(`con.asg.${a.status}`))))
                : [h('span', { class: 'muted nobody' }, t('con.nobody'))]));
        if (r.status !== task.status) {
            cells.act.replaceChildren(h('div', { class: 'acts' }, actions(task)));
            r.status = task.status;
        }
        if (r.late !== lateNow) {
            r.tr.classList.toggle('late', lateNow);
            r.late = lateNow;
        }
    }

    // ----------------------------------------------------- keyed changes
    function place(task) {
        const g = groups[task.status];
        const i = insertAt(g.list, task);
        g.list.splice(i, 0, task);
        const next = g.list[i + 1];
        return { g, before: next ? rows.get(next.task_id).tr : null };
    }

    function unplace(r) {
        const g = groups[r.status];
        const i = g.list.indexOf(r.task);
        if (i >= 0) g.list.splice(i, 1);
    }

    function apply(id, task) {
        const r = rows.get(id);
        if (!task) { // gone from the queue
            if (r) {
                unplace(r);
                r.tr.remove();
                rows.delete(id);
            }
            return;
        }
        if (r && r.status === task.status && r.task.start === task.start) {
            const g = groups[task.status];
            g.list[g.list.indexOf(r.task)] = task;
            fillRow(r, task);
            return;
        }
        if (r) {
            unplace(r);
            fillRow(r, task);
            // fillRow changed r.task; place by the new one
        }
        const row = r || buildRow(task);
        if (!r) rows.set(id, row);
        const { g, before } = place(task);
        g.tbody.insertBefore(row.tr, before);
    }

    function paintCounts(counts) {
        for (const s of QUEUED) {
            const g = groups[s];
            const total = counts ? counts[s] ?? g.list.length : g.list.length;
            g.count.textContent = total > g.list.length
                ? `(${t('con.shownOf', { shown: g.list.length, total })})` : `(${total})`;
            g.empty.hidden = g.list.length > 0;
            g.table.hidden = g.list.length === 0;
        }
    }

    let lastCounts = null;
    function flush() {
        frame = 0;
        for (const [id, task] of dirty) apply(id, task);
        dirty.clear();
        paintCounts(lastCounts);
    }

    function schedule() {
        if (frame) return;
        frame = requestAnimationFrame(flush);
        // a hidden tab gets no frames: flush anyway, a little later
        setTimeout(() => { if (frame) { cancelAnimationFrame(frame); flush(); } }, 300);
    }

    return {
        el,
        /** A fresh table: every row anew. */
        reset(tasks, counts) {
            base = scope();
            dirty.clear();
            rows.clear();
            lastCounts = counts;
            for (const s of QUEUED) {
                groups[s].list = [];
                groups[s].tbody.replaceChildren();
            }
            const frags = Object.fromEntries(QUEUED.map((s) => [s, document.createDocumentFragment()]));
            for (const task of [...tasks].sort(cmpTask)) {
                const r = buildRow(task);
                rows.set(task.task_id, r);
                groups[task.status].list.push(task);
                frags[task.status].append(r.tr);
            }
            for (const s of QUEUED) groups[s].tbody.append(frags[s]);
            paintCounts(counts);
        },
        /** The task after an event (queued or not); painted next frame. */
        update(task, counts) {
            lastCounts = counts;
            dirty.set(task.task_id, task.status && QUEUED.includes(task.status) ? task : null);
            schedule();
        },
        /** Lateness as the clock moves. */
        tick() {
            const now = Math.floor(Date.now() / 1000);
            for (const r of rows.values()) {
                if (r.late !== isLate(r.task, now)) fillRow(r, r.task);
            }
        },
        flush,
        row: (id) => rows.get(id),
    };
}
