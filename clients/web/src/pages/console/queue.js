// queue.js -- the live queue on screen: one table per queued status
// (review, open, filled), rows soonest first, keyed by task id (a row is
// rows.js's, its place in the table blocks.js's).
//
// What it costs (issue 16: no task over 50 ms with 500 rows and 50
// events a second):
//   - a fresh snapshot (reset()) builds its rows in slices, as many per
//     frame as fit in frames.js's SLICE_MS, the top of the page first:
//     the first rows show at the next frame and no frame waits for all
//     500; events meanwhile wait until the last row is in;
//   - an event (update()) only marks its task; the next frame applies
//     every task marked since the last one (one flush per frame,
//     however many events came): a row filled again (only the cells
//     whose inputs changed), moved, added or taken out, and its place
//     found by binary search: O(changes), never the whole table;
//   - the group headings' counts are written once per flush, and only
//     when their text changed.
//
// The tables' roles are said explicitly (rows are laid out as grids,
// console.css), and every row stays in the document.
//
// Performance marks for the browser test and the browser's tools:
// 'console:first-row' when the first row of a fresh table is in,
// 'console:queue-full' when its last one is.
import { t } from '../../i18n/index.js';
import { h } from '../../ui/dom.js';
import { rowBlocks } from './blocks.js';
import { inSlices, perFrame } from './frames.js';
import { QUEUED, cmpTask, isLate } from './model.js';
import { rowMaker } from './rows.js';

/** Binary search: the index in arr (tasks, sorted) of the first entry
 * not before task -- task's own index when it is in arr. */
function insertAt(arr, task) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmpTask(arr[mid], task) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/** The queue view. tz() the city's offset, scope() the watched region,
 * actions(task) a row's buttons. onFull() is called each time a fresh
 * table has all its rows in. */
export function queueView({ tz, scope, actions, onFull = () => {} }) {
    const groups = {};
    const rows = new Map(); // task_id -> row (rows.js) + status
    const dirty = new Map(); // task_id -> task (after) or null (gone)
    let base = scope();
    let stopBuild = null; // while a fresh table is being built
    let lastCounts = null;
    const maker = rowMaker({ tz, base: () => base, actions });
    const later = perFrame(flush);

    for (const status of QUEUED) {
        const hid = `q-${status}-h`;
        const count = h('span', { class: 'count' });
        const empty = h('p', { class: 'muted empty' }, t('con.queueEmpty'));
        const th = (cls, key) => h('th', { scope: 'col', role: 'columnheader', class: cls }, t(key));
        const table = h('table', { class: 'queue', role: 'table', 'aria-labelledby': hid },
            h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' },
                th('c-when', 'con.col.start'), th('c-task', 'con.col.task'),
                th('c-people', 'con.col.people'),
                th('c-act', 'con.col.actions'))));
        const el = h('section', { class: `qgroup q-${status}`, 'data-status': status },
            h('h3', { id: hid }, h('span', { class: `dot s-${status}`, 'aria-hidden': 'true' }),
                t(`status.${status}`), ' ', count),
            empty, table);
        groups[status] = { el, count, empty, table, blocks: rowBlocks(table), list: [], painted: '' };
    }
    const el = h('div', { class: 'groups' }, QUEUED.map((s) => groups[s].el));

    // ----------------------------------------------------- keyed changes
    function place(r) {
        const g = groups[r.status];
        const i = insertAt(g.list, r.task);
        g.list.splice(i, 0, r.task);
        const next = g.list[i + 1];
        g.blocks.insert(r, next ? rows.get(next.task_id) : null);
    }

    function unplace(r) {
        const g = groups[r.status];
        const i = insertAt(g.list, r.task);
        if (g.list[i] === r.task) g.list.splice(i, 1);
        g.blocks.remove(r);
    }

    function apply(id, task, now) {
        const r = rows.get(id);
        if (!task) { // gone from the queue
            if (r) {
                unplace(r);
                rows.delete(id);
            }
            return;
        }
        if (r && r.status === task.status && r.task.start === task.start) {
            const g = groups[task.status];
            g.list[insertAt(g.list, r.task)] = task;
            maker.fillRow(r, task, now);
            return;
        }
        if (r) unplace(r);
        const row = r || maker.buildRow(task, now);
        if (r) maker.fillRow(r, task, now);
        row.status = task.status;
        rows.set(id, row);
        place(row);
    }

    function paintCounts(counts) {
        for (const s of QUEUED) {
            const g = groups[s];
            const shown = g.list.length;
            const total = counts ? counts[s] ?? shown : shown;
            const text = total > shown ? `(${t('con.shownOf', { shown, total })})` : `(${total})`;
            if (g.painted === `${text}|${shown > 0}`) continue;
            g.painted = `${text}|${shown > 0}`;
            g.count.textContent = text;
            g.empty.hidden = shown > 0;
            g.table.hidden = shown === 0;
        }
    }

    function flush() {
        if (stopBuild) return; // the build's end flushes
        const now = Math.floor(Date.now() / 1000);
        for (const [id, task] of dirty) apply(id, task, now);
        dirty.clear();
        paintCounts(lastCounts);
    }

    // ------------------------------------------------------ a fresh table
    function build(tasks) {
        const order = [];
        for (const s of QUEUED) {
            groups[s].list = tasks.filter((x) => x.status === s).sort(cmpTask);
            order.push(...groups[s].list);
        }
        const now = Math.floor(Date.now() / 1000);
        let first = true;
        stopBuild = inSlices(order, (task) => {
            const r = maker.buildRow(task, now);
            r.status = task.status;
            rows.set(task.task_id, r);
            groups[task.status].blocks.append(r);
            if (first) {
                first = false;
                performance.mark('console:first-row');
            }
        }, () => {
            stopBuild = null;
            performance.mark('console:queue-full');
            flush();
            onFull();
        });
    }

    return {
        el,
        /** A fresh table of tasks (every row anew, built over the next
         * frames); counts: the model's counts by status. */
        reset(tasks, counts) {
            stopBuild?.();
            stopBuild = null;
            later.cancel();
            base = scope();
            dirty.clear();
            rows.clear();
            lastCounts = counts;
            for (const s of QUEUED) groups[s].blocks.clear();
            build(tasks);
            paintCounts(counts);
        },
        /** The task after an event (queued or not); painted next frame. */
        update(task, counts) {
            lastCounts = counts;
            dirty.set(task.task_id, task.status && QUEUED.includes(task.status) ? task : null);
            later();
        },
        /** Lateness as the clock moves: the rows whose mark changed. */
        tick() {
            const now = Math.floor(Date.now() / 1000);
            for (const r of rows.values()) {
                if (r.late !== isLate(r.task, now)) maker.fillRow(r, r.task, now);
            }
        },
        /** Stops building (the page is left). */
        stop() {
            stopBuild?.();
            later.cancel();
        },
        flush,
        row: (id) => rows.get(id),
    };
}
