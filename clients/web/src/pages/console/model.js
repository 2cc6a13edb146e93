// model.js -- the live queue as data: the queue.watch snapshot and the
// `queue` events applied to it, the JavaScript twin of wishctl's
// clients/wishctl/wishctl_watch_model.c (docs/protocol.md, "The live
// queue"). No DOM, no clock but the `now` passed in: tests/web/
// app.test.mjs runs it in Node.
//
//   const m = new QueueModel();
//   m.snapshot(snap);          // {region, tasks, stats, upto}
//   const d = m.apply(ev);     // a queue event -> {task, prev, change} or null
//
// As in wishctl: the snapshot replaces the table; an event replaces its
// task, adds it, or takes it out when it is no longer queued (review,
// open, filled); counts come from the snapshot's and each event's
// `stats`. Unlike wishctl's blocking queue.watch, the browser's client
// gets events while the snapshot is on its way: the page holds them
// (hold()) and the snapshot replays those after its `upto`; any event
// not above `upto` is older than the snapshot and dropped.
//
// Outstanding offers: the snapshot gives each task's count; events do
// not carry it, so it moves with `offered` (+1), `declined` and `lapsed`
// (-1), an `assigned` of a volunteer it knows was offered (-1), and
// drops to 0 when the task is filled (the rest are withdrawn).

export const STATUSES = ['review', 'open', 'filled', 'done', 'rejected', 'cancelled', 'expired'];
export const QUEUED = ['review', 'open', 'filled'];
const QSET = new Set(QUEUED);

/** A 16-digit event id, whatever form it came in ('' for none). */
export function eventId(id) {
    if (id === undefined || id === null || id === '') return '';
    return String(id).padStart(16, '0');
}

/** Soonest start first; ids "T9" before "T10" (as wishctl). */
export function cmpTask(a, b) {
    if (a.start !== b.start) return a.start < b.start ? -1 : 1;
    const x = a.task_id, y = b.task_id;
    if (x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
}

export const isQueued = (t) => QSET.has(t.status);

/** Open, places still free, start passed (wishctl's ww_task_late). */
export function isLate(t, now) {
    return t.status === 'open' && (t.filled || 0) < (t.quantity || 1) && t.start <= now;
}

/** Who is on it and how, those cancelled left out. */
export function assigneesOf(t) {
    return (t.assignees || []).filter((a) => a.volunteer_id && a.status !== 'cancelled');
}

export class QueueModel {
    constructor() {
        this.region = '';
        this.tasks = new Map();   // task_id -> task (+ offers)
        this.counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
        this.upto = '';
        this.offered = new Map(); // task_id -> Set of volunteers offered since the snapshot
        this._held = null;
    }

    /** From now until the next snapshot(), apply() holds events. */
    hold() {
        this._held = this._held || [];
    }

    /** Stops holding (a watch refused): what was held is dropped. */
    release() {
        this._held = null;
    }

    /** The counts map {review, open, ...}; statuses it lacks keep theirs. */
    readCounts(c) {
        if (!c || typeof c !== 'object') return;
        for (const s of STATUSES) if (typeof c[s] === 'number') this.counts[s] = c[s];
    }

    /** The queue.watch result: the table anew, then the events held
     * meanwhile that are newer than it. Returns those events' deltas. */
    snapshot(snap) {
        this.region = snap.region || this.region;
        this.tasks = new Map();
        this.offered = new Map();
        for (const t of snap.tasks || []) {
            if (t && t.task_id && isQueued(t)) this.tasks.set(t.task_id, { ...t, offers: t.offers || 0 });
        }
        this.readCounts(snap.stats);
        this.upto = eventId(snap.upto);
        const held = this._held || [];
        this._held = null;
        return held.map((ev) => this.apply(ev)).filter(Boolean);
    }

    /** The tasks soonest first. */
    sorted() {
        return [...this.tasks.values()].sort(cmpTask);
    }

    /** A `queue` event: {task (after), prev (before, or undefined),
     * change, volunteer_id} -- or null when it is not one, older than
     * the snapshot, or held. */
    apply(ev) {
        if (!ev || ev.type !== 'queue' || !ev.task || !ev.task.task_id) return null;
        if (this._held) {
            this._held.push(ev);
            return null;
        }
        const id = eventId(ev.id);
        if (this.upto && id && id <= this.upto) return null;
        this.readCounts(ev.stats);
        const t = ev.task;
        const prev = this.tasks.get(t.task_id);
        let offers = prev ? prev.offers : 0;
        let seen = this.offered.get(t.task_id);
        const vol = ev.volunteer_id;
        switch (ev.change) {
        case 'offered':
            offers += 1;
            if (vol) {
                if (!seen) this.offered.set(t.task_id, seen = new Set());
                seen.add(vol);
            }
            break;
        case 'declined':
        case 'lapsed':
            offers = Math.max(0, offers - 1);
            seen?.delete(vol);
            break;
        case 'assigned':
            if (seen?.has(vol)) {
                offers = Math.max(0, offers - 1);
                seen.delete(vol);
            }
            break;
        default:
        }
        if (t.status !== 'open') offers = 0;
        const task = { ...t, offers };
        if (isQueued(task)) {
            this.tasks.set(task.task_id, task);
        } else {
            this.tasks.delete(task.task_id);
            this.offered.delete(task.task_id);
        }
        return { task, prev, change: ev.change, volunteer_id: vol, at: ev.at };
    }

    /** The queued tasks in a scope (itself or below it). */
    countIn(scope) {
        let n = 0;
        for (const t of this.tasks.values()) if (inScope(t.region, scope)) n += 1;
        return n;
    }
}

/** True when region is scope or below it. */
export function inScope(region, scope) {
    return region === scope || (region || '').startsWith(`${scope}/`);
}
