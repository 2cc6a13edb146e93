// nearby.js -- open tasks near my home that I could take now
// (task.nearby: coarse places, distances rounded to 100 m), nearest
// first, each with a claim button.
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';
import { taskLines, volError } from './format.js';

export function nearbySection(ctx, store) {
    const list = h('ul', { class: 'cards', 'aria-labelledby': 'near-h' });
    const said = h('p', { class: 'status-line', role: 'status' });
    const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load() },
        t('vol.near.refresh'));
    const node = h('section', { class: 'card', 'aria-labelledby': 'near-h' },
        h('div', { class: 'head-row' }, h('h2', { id: 'near-h' }, t('vol.near.title')), refresh),
        said, list);
    let busy = false;

    async function load() {
        if (busy) return;
        busy = true;
        refresh.disabled = true;
        said.textContent = t('vol.near.loading');
        try {
            const tasks = await ctx.client.call('task.nearby', { limit: 20 });
            list.replaceChildren(...(Array.isArray(tasks) ? tasks : []).map(card));
            said.textContent = tasks.length ? t('vol.near.count', { n: tasks.length }) : t('vol.near.none');
        } catch (e) {
            list.replaceChildren();
            said.textContent = volError(e);
        } finally {
            busy = false;
            refresh.disabled = false;
        }
    }

    function card(task) {
        const titleId = uid('near');
        const out = h('p', { class: 'status-line', role: 'status' });
        const btn = h('button', { type: 'button', class: 'primary', onclick: async () => {
            btn.disabled = true;
            out.textContent = t('vol.near.claiming');
            try {
                store.putAssignment(await ctx.client.call('task.claim', { task_id: task.task_id }));
                store.refreshMe();
                li.remove();
                said.textContent = t('vol.near.claimed', { title: task.title });
            } catch (e) {
                out.textContent = volError(e);
                btn.disabled = false;
            }
        } }, t('vol.near.claim'));
        const li = h('li', { class: 'near', 'aria-labelledby': titleId },
            h('h3', { id: titleId }, task.title),
            taskLines(task, ctx.tz(), { distance: task.distance }),
            task.quantity > 1 ? h('p', { class: 'muted' }, t('vol.near.places',
                { filled: task.filled, quantity: task.quantity })) : null,
            h('div', { class: 'actions' }, btn), out);
        return li;
    }

    return { node, load };
}
