// mytasks.js -- the tasks I am on: exact time and place once assigned,
// check-in with the phone's location (a refusal says how far, in
// words), check-out; then waiting for confirmation, and the hours,
// points and stars credited.
import { WishError } from '../../client/wish.js';
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';
import { assignmentStateOf, taskLines, volError } from './format.js';
import { distanceWords, geoError, herePosition, metres } from './geo.js';

export function myTasksSection(ctx, store) {
    const list = h('ul', { class: 'cards', 'aria-labelledby': 'mine-h' });
    const past = h('ul', { class: 'cards past', 'aria-labelledby': 'past-h' });
    const empty = h('p', { class: 'muted' }, t('vol.mine.none'));
    const elsewhere = h('p', { class: 'notice', hidden: true });
    const pastBox = h('details', { class: 'past-box', open: true },
        h('summary', { id: 'past-h' }, t('vol.mine.past')), past);
    const node = h('section', { class: 'card', 'aria-labelledby': 'mine-h' },
        h('h2', { id: 'mine-h' }, t('vol.mine.title')), empty, elsewhere, list, pastBox);
    const saidOf = new Map(); // task_id -> {text, status}: the last words on its card
    const live = h('p', { class: 'visually-hidden', role: 'status' });
    node.append(live);

    function card(a) {
        const task = a.task || { task_id: a.task_id };
        const titleId = uid('mine');
        const kept = saidOf.get(a.task_id);
        const said = h('p', { class: ['status-line', kept?.error && 'field-error'] },
            kept && kept.status === a.status ? kept.text : '');
        // Words for this card (kept across re-renders while its state
        // holds), also said once in the section's live region.
        const say = (text, status = a.status, error = false) => {
            saidOf.set(a.task_id, { text, status, error });
            said.textContent = text;
            said.classList.toggle('field-error', error);
            live.textContent = text;
        };
        const actions = h('div', { class: 'actions' });
        if (a.status === 'assigned') {
            const btn = h('button', { type: 'button', class: 'primary', onclick: async () => {
                btn.disabled = true;
                say(t('vol.geo.asking'));
                try {
                    const here = await herePosition();
                    say(t('vol.mine.checkingIn'));
                    const r = await ctx.client.call('task.checkin',
                        { task_id: a.task_id, lon: here.lon, lat: here.lat });
                    say(t('vol.mine.checkedIn'), r.status);
                    store.putAssignment(r);
                } catch (e) {
                    say(e instanceof WishError ? volError(e) : geoError(e), a.status, true);
                    correct(e);
                    btn.disabled = false;
                }
            } }, t('vol.mine.checkin'));
            actions.append(btn);
        } else if (a.status === 'active') {
            const btn = h('button', { type: 'button', class: 'primary', onclick: async () => {
                btn.disabled = true;
                try {
                    const r = await ctx.client.call('task.checkout', { task_id: a.task_id });
                    say(t('vol.mine.checkedOut'), r.status);
                    store.putAssignment(r);
                    store.refreshMe();
                } catch (e) {
                    say(volError(e), a.status, true);
                    correct(e);
                    btn.disabled = false;
                }
            } }, t('vol.mine.checkout'));
            actions.append(btn);
        }
        function correct(e) {
            const st = assignmentStateOf(e);
            if (st) store.setTask(a.task_id, { status: st });
        }
        let far = null;
        const fromHome = a.status === 'assigned' && store.home && task.lon !== undefined
            ? metres(store.home.lon, store.home.lat, task.lon, task.lat) : 0;
        if (fromHome >= 100) {
            far = h('p', { class: 'muted' }, t('vol.mine.fromHome', { d: distanceWords(fromHome) }));
        }
        return h('li', { class: ['mine', `st-${a.status}`], 'aria-labelledby': titleId },
            h('h3', { id: titleId }, task.title || a.task_id),
            h('p', { class: 'state' }, stateWords(a)),
            task.start ? taskLines(task, ctx.tz(), { exact: task.lon !== undefined && a.status !== 'cancelled' }) : null,
            far, actions, said);
    }

    function paint() {
        const { live, past: done } = store.myTasks();
        list.replaceChildren(...live.map(card));
        past.replaceChildren(...done.map(card));
        pastBox.hidden = done.length === 0;
        empty.hidden = live.length > 0;
        // Taken on another device: me.active counts them, this one has no id.
        const here = live.filter((x) => x.status === 'assigned' || x.status === 'active').length;
        const n = (store.me?.active || 0) - here;
        elsewhere.hidden = n <= 0;
        elsewhere.textContent = n > 0 ? t('vol.mine.elsewhere', { n }) : '';
    }
    return { node, paint };
}

/** "已签到，服务中" etc.; confirmed: the hours and points. */
export function stateWords(a) {
    switch (a.status) {
    case 'confirmed':
        return a.hours === undefined || a.hours === null ? t('vol.state.confirmed')
            : t('vol.mine.confirmed', { hours: fmt(a.hours), points: fmt(a.points) });
    case 'rated':
        return a.stars === undefined || a.stars === null ? t('vol.state.rated')
            : t('vol.mine.rated', { stars: a.stars });
    case 'cancelled':
        return a.reason ? t('vol.mine.cancelledWhy', { reason: a.reason }) : t('vol.state.cancelled');
    default:
        return t(`vol.state.${a.status}`);
    }
}

const fmt = (x) => (x === undefined || x === null ? '—' : String(Math.round(x * 100) / 100));
