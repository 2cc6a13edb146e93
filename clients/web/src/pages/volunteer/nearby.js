// nearby.js -- open tasks near my home that I could take now
// (task.nearby: coarse places, distances rounded to 100 m), nearest
// first, each with a claim button; and on a map (nearmap.js).
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';
import { taskLines, volError } from './format.js';
import { nearbyMap } from './nearmap.js';

export function nearbySection(ctx, store) {
    const list = h('ul', { class: 'cards', 'aria-labelledby': 'near-h' });
    const said = h('p', { class: 'status-line', role: 'status' });
    const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load() },
        t('vol.near.refresh'));
    const map = nearbyMap({
        home: () => store.home,
        radius: () => store.profile?.radius || 5000,
        onPick(taskId) {
            const li = list.querySelector(`li[data-task="${CSS.escape(taskId)}"]`);
            li?.scrollIntoView({ block: 'center' });
            li?.querySelector('h3')?.focus();
        },
    });
    const node = h('section', { class: 'card', 'aria-labelledby': 'near-h' },
        h('div', { class: 'head-row' }, h('h2', { id: 'near-h' }, t('vol.near.title')), refresh),
        said, map.node, list);
    let busy = false;
    let shown = []; // the tasks of the latest load, for the map

    async function load() {
        if (busy) return;
        busy = true;
        refresh.disabled = true;
        said.textContent = t('vol.near.loading');
        try {
            const tasks = await ctx.client.call('task.nearby', { limit: 20 });
            shown = Array.isArray(tasks) ? tasks : [];
            list.replaceChildren(...shown.map(card));
            map.show(shown);
            said.textContent = tasks.length ? t('vol.near.count', { n: tasks.length }) : t('vol.near.none');
        } catch (e) {
            list.replaceChildren();
            map.show([]);
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
                shown = shown.filter((x) => x.task_id !== task.task_id);
                map.show(shown);
                said.textContent = t('vol.near.claimed', { title: task.title });
            } catch (e) {
                out.textContent = volError(e);
                btn.disabled = false;
            }
        } }, t('vol.near.claim'));
        const li = h('li', { class: 'near', 'aria-labelledby': titleId, 'data-task': task.task_id },
            h('h3', { id: titleId, tabindex: '-1' }, task.title),
            taskLines(task, ctx.tz(), { distance: task.distance }),
            task.quantity > 1 ? h('p', { class: 'muted' }, t('vol.near.places',
                { filled: task.filled, quantity: task.quantity })) : null,
            h('div', { class: 'actions' }, btn), out);
        return li;
    }

    return { node, load };
}
