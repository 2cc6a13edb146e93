// timeline.js -- the steps of one wish or order, from the task (as
// wish.list or task.get give it, with assignees) and the events seen
// for it (memory.js). Pure: no DOM, no words; the card says them.
//
// A step is {key, state, vars, at}: state 'done', 'current' (what
// happens now, or what the resident is asked to do), 'todo' (to come)
// or 'stop' (the end: rejected, cancelled, expired); key names the
// words (res.step.<key>); at is when (Unix seconds) when known.

// How far an assignment has gone.
const LEVEL = { assigned: 1, active: 2, finished: 3, confirmed: 4, rated: 5 };
const LIVE = new Set(['review', 'open', 'filled']);

/** The assignee the resident deals with: the last one still on the task,
 * else the last one ever put on it; null for nobody. */
export function mainAssignee(task) {
    const all = task.assignees || [];
    return [...all].reverse().find((a) => a.status !== 'cancelled') || all[all.length - 1] || null;
}

function lastOf(seen, type, volunteerId) {
    const l = seen.filter((e) => e.type === type
        && (!volunteerId || !e.volunteer_id || e.volunteer_id === volunteerId));
    return l[l.length - 1] || null;
}

/**
 * steps(task, seen, {submittedAt, stars}) -> [step].
 * seen: the events noted for the task, oldest first.
 */
export function steps(task, seen = [], { submittedAt = null, stars = null } = {}) {
    const out = [];
    const push = (key, state, vars = {}, at = null) => out.push({ key, state, vars, at });
    push('submitted', 'done', {}, submittedAt);

    // The centre's review (wishes in a review region).
    const reviewed = lastOf(seen, 'wish_reviewed');
    if (task.status === 'review') push('review', 'current');
    else if (task.status === 'rejected') {
        push(task.reason || reviewed?.reason ? 'rejected' : 'rejectedNoReason', 'stop',
            { reason: task.reason || reviewed?.reason || '' }, reviewed?.at);
        return out;
    } else if (reviewed?.approved) push('approved', 'done', {}, reviewed.at);

    const a = mainAssignee(task);
    // A volunteer taken off by a cancel had taken the task all the same.
    const level = a ? (a.status === 'cancelled' ? 1 : LEVEL[a.status] || 0) : 0;
    const name = a?.name || a?.volunteer_id || '';
    const vid = a?.volunteer_id;
    const assigned = a ? lastOf(seen, 'assigned', vid) : null;
    const checkedIn = a ? lastOf(seen, 'checked_in', vid) : null;
    const finished = a ? lastOf(seen, 'finished', vid) : null;
    const rating = assigned?.volunteer && typeof assigned.volunteer.rating === 'number'
        ? assigned.volunteer.rating : null;

    const path = [];
    if (!a || level === 0) {
        path.push(['comingTodo', false]);
    } else {
        path.push(['coming', true, { name, rating }, assigned?.at]);
    }
    // Arrived: known from a check-in (status active, or the events); an
    // assignment finished with no sign of a check-in (the task's end
    // passed, or an earlier visit) skips the step rather than guess.
    if (level >= 2 && (level === 2 || checkedIn || finished)) {
        path.push(['arrived', true, { name }, checkedIn?.at]);
    } else if (level < 2) path.push(['arrivedTodo', false]);
    path.push(level >= 3 ? ['finished', true, { name }, finished?.at] : ['finishedTodo', false]);
    path.push(level >= 4 ? ['confirmed', true] : ['confirmedTodo', false]);
    if (level >= 5) {
        const s = stars ?? null;
        path.push(s ? ['rated', true, { stars: s }] : ['ratedDone', true]);
    } else path.push(['ratedTodo', false]);

    const live = LIVE.has(task.status) || (level >= 2 && level < 5);
    const ended = task.status === 'cancelled' || task.status === 'expired';
    let current = false;
    for (const [key, done, vars, at] of path) {
        if (done) {
            push(key, 'done', vars, at);
            continue;
        }
        if (ended) break; // no steps to come after the end
        if (!current && live && task.status !== 'review') {
            current = true;
            // The resident's own turn is said as a request.
            const asked = { comingTodo: 'seeking', arrivedTodo: 'waitArrive',
                finishedTodo: 'helping', confirmedTodo: 'confirmNow',
                ratedTodo: 'rateNow' }[key] || key;
            push(asked, 'current', { name, ...vars }, at);
        } else push(key, 'todo', vars || {}, at);
    }

    if (task.status === 'cancelled') {
        const ev = lastOf(seen, 'task_cancelled');
        const reason = task.reason || ev?.reason || '';
        push(reason ? 'cancelled' : 'cancelledNoReason', 'stop', { reason }, ev?.at);
    } else if (task.status === 'expired' && level === 0) {
        push('expired', 'stop', {}, lastOf(seen, 'task_expired')?.at);
    } else if (task.status === 'expired') {
        push('ended', 'stop', {}, lastOf(seen, 'task_expired')?.at);
    }
    return out;
}

/** What the resident may do with the task now: {cancel, confirm: [a],
 * rate: [a]} (a: assignees). */
export function actions(task) {
    const all = task.assignees || [];
    const arrived = all.some((a) => (LEVEL[a.status] || 0) >= 2);
    return {
        cancel: LIVE.has(task.status) && !arrived,
        confirm: all.filter((a) => a.status === 'active' || a.status === 'finished'),
        rate: all.filter((a) => a.status === 'confirmed'),
    };
}
