// home.js -- the resident's home (#/resident): a greeting, two big ways
// to ask for help (a wish, the service menu), and "my wishes and
// orders" (wish.list), each a card with its timeline, kept live: an
// event about a task repaints its card from task.get, a task not shown
// yet reloads the list, and so does a reconnect.
import { t } from '../../i18n/index.js';
import { markReady } from '../../lib/ready.js';
import { regionLine } from '../../lib/regions.js';
import { h } from '../../ui/dom.js';
import { taskCard } from './card.js';
import { resError } from './words.js';

export function homeView(ctx, m) {
    const name = ctx.me?.name || ctx.hello?.name || ctx.login.user;
    const notice = ctx.notice ? h('p', { class: 'notice ok', role: 'status' }, ctx.notice) : null;
    const status = h('p', { class: 'muted', role: 'status' }, t('res.loading'));
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const retry = h('button', { type: 'button', class: 'secondary', hidden: true,
        onclick: () => load() }, t('res.reload'));
    const listEl = h('div', { class: 'tasks' });
    const cards = new Map();

    const el = h('section', { class: 'resident' },
        h('h1', null, t('res.title')),
        h('p', { class: 'lead' }, t('res.hello', { name })),
        h('p', { class: 'muted place' }, t('res.community', { place: regionLine(ctx.login.region, 1) })),
        notice,
        h('nav', { class: 'ask', 'aria-label': t('res.title') },
            h('a', { class: 'bigbtn primary', href: '#/resident?view=new' },
                h('span', { class: 'big-label' }, t('res.toNew')),
                h('span', { class: 'big-hint' }, t('res.toNewHint'))),
            h('a', { class: 'bigbtn secondary', href: '#/resident?view=menu' },
                h('span', { class: 'big-label' }, t('res.toMenu')),
                h('span', { class: 'big-hint' }, t('res.toMenuHint')))),
        h('section', { class: 'mine', 'aria-labelledby': 'mine-h' },
            h('h2', { id: 'mine-h' }, t('res.list')),
            status, error, retry, listEl));

    let loading = null;
    async function load() {
        if (loading) return loading;
        loading = (async () => {
            error.hidden = true;
            retry.hidden = true;
            try {
                const tasks = await ctx.client.call('wish.list');
                m.lastPlace = tasks.length ? { lon: tasks[0].lon, lat: tasks[0].lat } : null;
                paint(tasks);
                markReady('resident');
            } catch (e) {
                status.textContent = '';
                error.textContent = resError(e);
                error.hidden = false;
                retry.hidden = false;
            } finally {
                loading = null;
            }
        })();
        return loading;
    }

    function paint(tasks) {
        const nodes = [];
        for (const task of tasks) {
            let c = cards.get(task.task_id);
            if (c) c.update(task);
            else {
                c = taskCard(ctx, m, task);
                cards.set(task.task_id, c);
            }
            nodes.push(c.el);
        }
        // Keep the nodes that stay (and the focus in them) in place.
        const keep = new Set(nodes);
        for (const child of [...listEl.children]) if (!keep.has(child)) child.remove();
        nodes.forEach((n, i) => {
            if (listEl.children[i] !== n) listEl.insertBefore(n, listEl.children[i] || null);
        });
        status.textContent = tasks.length ? '' : t('res.listEmpty');
    }

    // An event about a task (memory.js noted it): repaint its card.
    async function onTask(id) {
        const c = cards.get(id);
        if (!c) {
            await load();
            return;
        }
        try {
            c.update(await ctx.client.call('task.get', { task_id: id }));
        } catch {
            await load();
        }
    }

    let away = false;
    ctx.onLeave(ctx.client.on('state', (s) => {
        if (s === 'waiting') away = true;
        if (s === 'ready' && away) {
            away = false;
            load();
        }
    }));
    load();
    return { el, onTask };
}
