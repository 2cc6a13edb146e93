// card.js -- one wish or order in the resident's list: what and when,
// its timeline (timeline.js) and what the resident may do now: confirm
// the help is done (task.confirm), rate it (task.rate, stars.js),
// cancel it with an optional reason (task.cancel). update(task) paints
// a newer state in place; the action forms are kept while the actions
// stay the same, so an event never wipes what is being typed.
import { lang, t } from '../../i18n/index.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityTime, formatCityWhen } from '../../lib/time.js';
import { h, mount } from '../../ui/dom.js';
import { bytes, textareaField } from './controls.js';
import { starInput, starsShown } from './stars.js';
import { actions, steps } from './timeline.js';
import { resError } from './words.js';

/** "12月8日 周二 09:00–10:00" in the city's time, as [day, hours] to
 * wrap between them only. */
export function whenParts(task, tz) {
    const from = formatCityWhen(task.start, tz, lang());
    const sameDay = formatCityTime(task.start, tz, { time: false })
        === formatCityTime(task.end, tz, { time: false });
    if (!sameDay) return [`${from}–`, formatCityWhen(task.end, tz, lang())];
    const cut = from.lastIndexOf(' ');
    return [from.slice(0, cut), `${from.slice(cut + 1)}–${formatCityTime(task.end, tz, { date: false })}`];
}

function stepNode(step, tz) {
    const icon = { done: '✓', current: '●', todo: '○', stop: '■' }[step.state];
    const text = t(`res.step.${step.key}`, step.vars);
    const kids = [h('span', { class: 'dot', 'aria-hidden': 'true' }, icon),
        h('span', { class: 'what' }, text,
            step.key === 'rated' ? [' ', starsShown(step.vars.stars)] : null,
            h('span', { class: 'sr' }, ' ', step.state === 'done' ? t('res.step.done')
                : step.state === 'current' ? t('res.step.now') : ''))];
    if (step.key === 'coming') {
        const r = step.vars.rating;
        kids.push(h('span', { class: 'sub' }, r === null || r === undefined ? null
            : r > 0 ? [h('span', { class: 'star-one', 'aria-hidden': 'true' }, '★ '),
                t('res.step.rating', { rating: r.toFixed(1) })] : t('res.step.noRating')));
    }
    if (step.at) {
        kids.push(h('span', { class: 'sub' }, formatCityWhen(step.at, tz, lang())));
    }
    return h('li', { class: `step ${step.state}`,
        'aria-current': step.state === 'current' ? 'step' : null }, kids);
}

/**
 * The card of task. m: the page's memory (memory.js). Returns {el,
 * update(task)}.
 */
export function taskCard(ctx, m, task0) {
    let task = task0;
    const tz = ctx.tz();
    const head = h('div', { class: 'card-head' });
    const list = h('ol', { class: 'timeline' });
    const acts = h('div', { class: 'actions' });
    const said = h('p', { class: 'said', role: 'status' });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const headingId = `task-${task.task_id}`;
    const el = h('article', { class: 'task', 'aria-labelledby': headingId,
        'data-task': task.task_id }, head,
    h('h4', { class: 'sr' }, t('res.card.steps')), list, said, error, acts);
    let sig = null;

    function showError(e) {
        error.textContent = e ? resError(e) : '';
        error.hidden = !e;
    }

    async function refresh() {
        try {
            update(await ctx.client.call('task.get', { task_id: task.task_id }));
        } catch { /* the next event or visit paints it */ }
    }

    async function busy(button, label, fn) {
        const was = button.textContent;
        button.disabled = true;
        button.textContent = label;
        showError(null);
        try {
            await fn();
            return true;
        } catch (e) {
            showError(e);
            if (e?.code === 'CONFLICT' || e?.code === 'NOT_FOUND') await refresh();
            return false;
        } finally {
            button.disabled = false;
            button.textContent = was;
        }
    }

    function paintHead() {
        mount(head,
            h('h3', { id: headingId }, task.title),
            h('p', { class: 'tags' },
                h('span', { class: 'tag' }, t(`res.kind.${task.kind}`)),
                h('span', { class: `tag status-${task.status}` }, t(`res.status.${task.status}`)),
                h('span', { class: 'tag plain' }, skillLabel(task.skill))),
            h('p', { class: 'when' }, t('res.card.when'),
                whenParts(task, tz).map((x, i) => [i ? ' ' : null, h('span', { class: 'nowrap' }, x)])),
            task.note ? h('p', { class: 'note' }, t('res.card.note', { note: task.note })) : null);
    }

    function paintSteps() {
        const s = steps(task, m.seen.get(task.task_id) || [], {
            submittedAt: m.submitted.get(task.task_id) || null,
            stars: mainStars() });
        list.replaceChildren(...s.map((x) => stepNode(x, tz)));
    }

    function mainStars() {
        for (const a of task.assignees || []) {
            const s = m.stars.get(`${task.task_id}/${a.volunteer_id}`);
            if (s) return s;
        }
        return null;
    }

    function confirmButton(a) {
        const b = h('button', { type: 'button', class: 'primary big', onclick: () => busy(b,
            t('res.confirmBusy'), async () => {
                await ctx.client.call('task.confirm', { task_id: task.task_id,
                    volunteer_id: a.volunteer_id });
                said.textContent = t('res.confirmed');
                await refresh();
            }) }, t('res.confirm', { name: a.name || a.volunteer_id }));
        return b;
    }

    function rateForm(a) {
        const stars = starInput({ legend: t('res.rate.legend', { name: a.name || a.volunteer_id }) });
        const comment = textareaField({ name: 'comment', label: t('res.rate.comment'), rows: 2 });
        const starErr = h('p', { class: 'field-error', hidden: true });
        const b = h('button', { type: 'submit', class: 'primary big' }, t('res.rate.submit'));
        const f = h('form', { class: 'rate', novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            starErr.hidden = true;
            comment.setError(null);
            const n = stars.value();
            if (!n) {
                starErr.textContent = t('res.rate.needStars');
                starErr.hidden = false;
                stars.focus();
                return;
            }
            if (bytes(comment.input.value) > 500) {
                comment.setError(t('res.new.tooLong'));
                comment.input.focus();
                return;
            }
            await busy(b, t('res.rate.busy'), async () => {
                const p = { task_id: task.task_id, volunteer_id: a.volunteer_id, stars: n };
                const c = comment.input.value.trim();
                if (c) p.comment = c;
                await ctx.client.call('task.rate', p);
                m.stars.set(`${task.task_id}/${a.volunteer_id}`, n);
                said.textContent = t('res.rate.thanks');
                await refresh();
            });
        } }, stars.row, starErr, comment.row, b);
        return f;
    }

    function cancelControl() {
        const isOrder = task.kind === 'menu';
        const open = h('button', { type: 'button', class: 'secondary danger',
            'aria-expanded': 'false' }, isOrder ? t('res.cancelOrder') : t('res.cancel'));
        const reason = textareaField({ name: 'reason', label: t('res.cancel.reason'),
            hint: t('res.cancel.reasonHint'), rows: 2 });
        const yes = h('button', { type: 'submit', class: 'primary danger' }, t('res.cancel.yes'));
        const no = h('button', { type: 'button', class: 'secondary', onclick: () => {
            box.hidden = true;
            open.hidden = false;
            open.setAttribute('aria-expanded', 'false');
            open.focus();
        } }, t('res.cancel.no'));
        const box = h('form', { class: 'cancel-box', hidden: true, novalidate: true,
            onsubmit: async (e) => {
                e.preventDefault();
                reason.setError(null);
                const r = reason.input.value.trim();
                if (bytes(r) > 500) {
                    reason.setError(t('res.new.tooLong'));
                    reason.input.focus();
                    return;
                }
                await busy(yes, t('res.cancel.busy'), async () => {
                    const got = await ctx.client.call('task.cancel',
                        r ? { task_id: task.task_id, reason: r } : { task_id: task.task_id });
                    said.textContent = t('res.cancel.done');
                    update(got && got.task_id ? got : task);
                    await refresh();
                });
            } }, reason.row, h('div', { class: 'buttons' }, yes, no));
        open.addEventListener('click', () => {
            box.hidden = false;
            open.hidden = true;
            open.setAttribute('aria-expanded', 'true');
            reason.input.focus();
        });
        return [open, box];
    }

    function paintActions() {
        const a = actions(task);
        const next = JSON.stringify([a.cancel, a.confirm.map((x) => x.volunteer_id),
            a.rate.map((x) => x.volunteer_id)]);
        if (next === sig) return;
        sig = next;
        acts.replaceChildren(...a.confirm.map(confirmButton), ...a.rate.map(rateForm),
            ...(a.cancel ? cancelControl() : []));
    }

    function update(t2) {
        if (t2) task = t2;
        el.classList.toggle('over', ['done', 'cancelled', 'expired', 'rejected'].includes(task.status));
        paintHead();
        paintSteps();
        paintActions();
    }
    update(task);
    return { el, update, get task() { return task; } };
}
