// store.js -- what the volunteer page knows, kept outside the page's
// nodes so that a re-render (a change of language) or a reload loses
// nothing: the outstanding offers, the volunteer's tasks with its
// assignment's state, and the last `me`.
//
// The shell attaches it before `hello` (attachVolunteer in app.js), so
// the events replayed right after hello are seen too. Events change it:
//   offer            an offer (coarse task, expires_at)
//   offer_withdrawn  the offer goes
//   assigned         a task of mine (exact), assigned
//   confirmed/rated  hours and points / stars of one of mine
//   task_cancelled/task_expired  mine ends
//   team_invite      an invitation to a team, to answer (teams.js)
//   team_member, team_removed, team_order  my teams changed ('teams')
// and so do the page's own calls (accept, claim, check-in, check-out).
//
// Surviving a reload, or a new phone: the server's list of my tasks
// (task.mine, the latest 50) is the truth, read when a page opens.
// localStorage keeps, per user (mw.vol.CITY.USER), what lets the page
// paint at once and what task.mine does not say: each task's id with
// the state of my assignment as this device last knew it (and the hours,
// points and stars credited to it), and each outstanding offer's id,
// task id and expires_at (offers are events, acked once shown). An
// offer whose task is no longer open or whose time ran out is dropped
// when read again with task.get.
const LIVE = new Set(['assigned', 'active']);
const KEEP_DONE = 20; // finished tasks kept for the record
const MINE_MAX = 50; // task.mine's most

let store = null;

function ls() {
    try {
        return globalThis.localStorage || null;
    } catch {
        return null;
    }
}

class VolunteerStore {
    constructor(ctx) {
        this.ctx = ctx;
        this.key = null;
        this.offers = new Map(); // offer_id -> {offer_id, task, expires_at}
        this.tasks = new Map(); // task_id -> {task_id, task, status, hours, points, stars, reason}
        this.me = null;
        this.invites = new Map(); // team_id -> {team_id, team, by, expires_at}
        this.teamNews = null; // the last team event seen live: {type, ...}
        this.listeners = new Set();
        this.loaded = false;
    }

    /** The storage key of the signed-in volunteer, or null. */
    _who() {
        const l = this.ctx.login;
        if (!l || l.role !== 'volunteer') return null;
        return `mw.vol.${l.city}.${l.user}`;
    }

    /** Loads what this user's storage says when the user changed. */
    _sync() {
        const k = this._who();
        if (k === this.key) return k;
        this.key = k;
        this.offers = new Map();
        this.tasks = new Map();
        this.invites = new Map();
        this.teamNews = null;
        this.me = null;
        this.loaded = false;
        if (!k) return k;
        let v = null;
        try {
            v = JSON.parse(ls()?.getItem(k) || 'null');
        } catch {
            v = null;
        }
        for (const [id, st] of Object.entries(v?.tasks || {})) {
            // "assigned", or [state, hours, points, stars] once credited
            const [status, hours, points, stars] = Array.isArray(st) ? st : [st];
            if (typeof status === 'string') {
                this.tasks.set(id, { task_id: id, task: null, status, hours, points, stars });
            }
        }
        for (const [id, o] of Object.entries(v?.offers || {})) {
            if (Array.isArray(o) && o.length === 2) {
                this.offers.set(id, { offer_id: id, task: { task_id: o[0] }, expires_at: o[1], stale: true });
            }
        }
        for (const [id, until] of Object.entries(v?.invites || {})) {
            if (typeof until === 'number' && until * 1000 > Date.now()) {
                this.invites.set(id, { team_id: id, team: null, expires_at: until });
            }
        }
        return k;
    }

    _save() {
        if (!this.key) return;
        const tasks = {};
        for (const [id, t] of this.tasks) {
            tasks[id] = t.hours !== undefined || t.stars !== undefined
                ? [t.status, t.hours ?? null, t.points ?? null, t.stars ?? null] : t.status;
        }
        const offers = {};
        for (const [id, o] of this.offers) offers[id] = [o.task.task_id, o.expires_at];
        const invites = {};
        for (const [id, i] of this.invites) invites[id] = i.expires_at;
        ls()?.setItem(this.key, JSON.stringify({ tasks, offers, invites }));
    }

    subscribe(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

    changed(what) {
        this._save();
        for (const fn of [...this.listeners]) {
            try {
                fn(what);
            } catch { /* a page's painter */ }
        }
    }

    // ------------------------------------------------------------ events

    onEvent(ev) {
        if (!this._sync()) return;
        switch (ev.type) {
        case 'offer':
            if (ev.expires_at * 1000 > Date.now()) {
                this.offers.set(ev.offer_id, { offer_id: ev.offer_id, task: ev.task || {},
                    expires_at: ev.expires_at, at: ev.at });
                this.changed('offers');
            }
            break;
        case 'offer_withdrawn':
            if (this.offers.delete(ev.offer_id)) this.changed('offers');
            break;
        case 'assigned':
            if (ev.task) this.putAssignment({ task_id: ev.task.task_id, task: ev.task, status: 'assigned' }, true);
            break;
        case 'confirmed':
            this.setTask(ev.task_id, { status: 'confirmed', hours: ev.hours, points: ev.points });
            this.refreshMe();
            break;
        case 'rated':
            this.setTask(ev.task_id, { status: 'rated', stars: ev.stars });
            this.refreshMe();
            break;
        case 'task_cancelled': {
            const t = this.tasks.get(ev.task_id);
            // A checked-in volunteer stays finished, awaiting confirmation.
            this.setTask(ev.task_id, { status: t && t.status === 'active' ? 'finished' : 'cancelled',
                reason: ev.reason || '', taskStatus: 'cancelled' });
            this.refreshMe();
            break;
        }
        case 'task_expired':
            this.setTask(ev.task_id, { status: 'finished', taskStatus: 'expired' });
            this.refreshMe();
            break;
        case 'team_invite':
            if (ev.team && ev.expires_at * 1000 > Date.now()) {
                this.invites.set(ev.team.team_id, { team_id: ev.team.team_id, team: ev.team,
                    by: ev.by, expires_at: ev.expires_at });
                this.changed('teams');
            }
            break;
        case 'team_member':
        case 'team_removed':
        case 'team_order':
            this.teamNews = ev;
            this.changed('teams');
            break;
        default:
        }
    }

    // ---------------------------------------------------------- changes

    /** An assignment result ({task_id, status, task}) of a call or an
     * `assigned` event; an offer of its task goes. A stale event never
     * moves a state back (assigned after active). */
    putAssignment(a, fromEvent = false) {
        if (!this._sync() || !a || !a.task_id) return;
        const old = this.tasks.get(a.task_id);
        const status = fromEvent && old && old.status !== 'cancelled' ? old.status : a.status;
        this.tasks.set(a.task_id, { ...old, task_id: a.task_id, task: a.task || old?.task || null,
            status, hours: a.hours ?? old?.hours, points: a.points ?? old?.points });
        for (const [id, o] of this.offers) {
            if (o.task && o.task.task_id === a.task_id) this.offers.delete(id);
        }
        this._trim();
        this.changed('tasks');
    }

    setTask(id, fields) {
        if (!this._sync()) return;
        const old = this.tasks.get(id);
        if (!old) return; // not one this device knows
        const next = { ...old, ...fields };
        if (fields.taskStatus && next.task) next.task = { ...next.task, status: fields.taskStatus };
        delete next.taskStatus;
        this.tasks.set(id, next);
        this.changed('tasks');
    }

    /** An invitation answered, lapsed or withdrawn: it goes. */
    dropInvite(teamId) {
        if (this.invites.delete(teamId)) this.changed('teams');
    }

    dropOffer(id) {
        if (this.offers.delete(id)) this.changed('offers');
    }

    _trim() {
        const done = [...this.tasks.values()].filter((t) => !LIVE.has(t.status));
        done.sort((a, b) => (b.task?.start || 0) - (a.task?.start || 0));
        for (const t of done.slice(KEEP_DONE)) this.tasks.delete(t.task_id);
    }

    // ------------------------------------------------------ from server

    async refreshMe() {
        try {
            this.me = await this.ctx.client.call('me');
            this.ctx.me = this.me;
            this.changed('me');
        } catch { /* shown from the last one */ }
        return this.me;
    }

    /** Once a page opens: me, my tasks as the server has them
     * (task.mine), and the kept offers read again (task.get), dropping
     * what the server says is over. */
    async load() {
        if (!this._sync()) return;
        if (this.loaded) return;
        this.loaded = true;
        const c = this.ctx.client;
        await this.refreshMe();
        const gets = [c.call('task.mine', { limit: MINE_MAX }).then(
            (list) => this._fromServer(list), () => { /* shown as kept */ })];
        for (const o of this.offers.values()) {
            if (!o.stale) continue;
            if (o.expires_at * 1000 <= Date.now()) {
                this.offers.delete(o.offer_id);
                continue;
            }
            gets.push(c.call('task.get', { task_id: o.task.task_id }).then((task) => {
                if (task.status !== 'open' || this.tasks.has(task.task_id)) this.offers.delete(o.offer_id);
                else this.offers.set(o.offer_id, { ...o, task, stale: false });
            }, (e) => {
                if (e.code === 'NOT_FOUND' || e.code === 'FORBIDDEN') this.offers.delete(o.offer_id);
            }));
        }
        await Promise.all(gets);
        this._trim();
        this.changed('all');
    }

    /** task.mine's list over what this device kept: the server's state
     * and task win; stars (which task.mine does not give) and a
     * cancellation's reason are kept. A kept task the whole list does
     * not hold is no longer mine to show. */
    _fromServer(list) {
        if (!Array.isArray(list)) return;
        const next = new Map();
        for (const a of list) {
            const old = this.tasks.get(a.task_id);
            next.set(a.task_id, { ...old, task_id: a.task_id, task: a.task || old?.task || null,
                status: a.status, hours: a.hours ?? old?.hours, points: a.points ?? old?.points });
        }
        if (list.length >= MINE_MAX) {
            for (const [id, t] of this.tasks) if (!next.has(id)) next.set(id, t);
        }
        this.tasks = next;
    }

    /** Live offers, soonest to lapse first, dropping lapsed ones. */
    liveOffers(now = Date.now()) {
        for (const [id, o] of this.offers) {
            if (o.expires_at * 1000 <= now) this.offers.delete(id);
        }
        return [...this.offers.values()].sort((a, b) => a.expires_at - b.expires_at);
    }

    /** My tasks: live ones by start, then the rest, latest first. */
    myTasks() {
        const all = [...this.tasks.values()];
        const live = all.filter((t) => LIVE.has(t.status) || t.status === 'finished')
            .sort((a, b) => (a.task?.start || 0) - (b.task?.start || 0));
        const past = all.filter((t) => !live.includes(t))
            .sort((a, b) => (b.task?.start || 0) - (a.task?.start || 0));
        return { live, past };
    }
}

/** The store of the session (one per page load). */
export function volunteerStore(ctx) {
    if (!store) store = new VolunteerStore(ctx);
    store._sync();
    return store;
}

/** Called by the shell before hello: every event reaches the store. */
export function attachVolunteer(ctx) {
    const s = volunteerStore(ctx);
    ctx.client.on('event', (ev) => s.onEvent(ev));
    return s;
}
