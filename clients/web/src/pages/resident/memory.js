// memory.js -- what the resident page remembers while the app is open,
// per signed-in user, in memory only (never stored in the browser: no
// event's content is kept; docs/apps.md, "What the browser keeps"):
// the events seen for each task (for the timeline's times, who is
// coming and their rating), when this app submitted a task, the stars
// given, and the forms' drafts with their request_id (kept until the
// creating call succeeds, across re-renders and a change of language).

const byUser = new Map();

/** The memory of ctx's signed-in user. */
export function memory(ctx) {
    const k = `${ctx.login?.city}/${ctx.login?.user}`;
    let m = byUser.get(k);
    if (!m) {
        m = { seen: new Map(), submitted: new Map(), stars: new Map(), drafts: new Map() };
        byUser.set(k, m);
    }
    return m;
}

/** The task id an event to a requester is about, or null. */
export function eventTask(ev) {
    return ev?.task_id || ev?.task?.task_id || null;
}

/** Notes an event about one of the user's tasks; returns its task id
 * (null for other events). */
export function record(m, ev) {
    const id = eventTask(ev);
    if (!id) return null;
    const list = m.seen.get(id) || [];
    if (ev.id && list.some((e) => e.id === ev.id)) return id;
    list.push({ id: ev.id, type: ev.type, at: ev.at, approved: ev.approved,
        reason: ev.reason, volunteer: ev.volunteer || null,
        volunteer_id: ev.volunteer_id || ev.volunteer?.id || null });
    m.seen.set(id, list);
    return id;
}

/** A form's draft by name ({values, requestId, frozen}). */
export function draft(m, name) {
    let d = m.drafts.get(name);
    if (!d) {
        d = { values: {}, requestId: null, frozen: null };
        m.drafts.set(name, d);
    }
    return d;
}
