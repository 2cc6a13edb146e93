// tree.js -- the regions of the token's scope as a tree of buttons (the
// regions the queue and the account list have shown): picking one
// watches its queue. Plain buttons in nested lists, so Tab and Enter
// are all it takes; the watched one is aria-current. Counts of queued
// tasks show for the watched scope and what is below it.
import { t } from '../../i18n/index.js';
import { h } from '../../ui/dom.js';
import { inScope } from './model.js';
import { buildTree, segName } from './regions.js';

export function treeView({ root, onPick }) {
    const regions = new Set([root]);
    const buttons = new Map(); // path -> {btn, count}
    let watched = root;
    const list = h('div', { class: 'tree' });
    const el = h('nav', { class: 'regions', 'aria-labelledby': 'regions-h' },
        h('h2', { id: 'regions-h' }, t('con.regions')),
        h('p', { class: 'hint' }, t('con.regionsHint')), list);

    function node(n, depth) {
        const count = h('span', { class: 'count' });
        const btn = h('button', { type: 'button', class: 'node', 'data-region': n.path,
            onclick: () => onPick(n.path) },
        h('span', { class: 'seg' }, segName(n.seg)), ' ', count);
        buttons.set(n.path, { btn, count });
        return h('li', null, btn, n.children.length
            ? h('ul', null, n.children.map((c) => node(c, depth + 1))) : null);
    }

    function render() {
        buttons.clear();
        list.replaceChildren(h('ul', { class: 'root' }, node(buildTree(root, regions), 0)));
        mark();
    }

    function mark() {
        for (const [p, { btn }] of buttons) {
            if (p === watched) btn.setAttribute('aria-current', 'true');
            else btn.removeAttribute('aria-current');
        }
    }

    render();
    return {
        el,
        /** Regions seen; re-renders only when one is new. */
        add(list2) {
            let fresh = false;
            for (const r of list2) {
                if (r && inScope(r, root) && !regions.has(r)) {
                    regions.add(r);
                    fresh = true;
                }
            }
            if (fresh) render();
            return fresh;
        },
        setWatched(p) {
            watched = p;
            mark();
        },
        /** Queued tasks per node (the watched subtree only). */
        counts(tasks) {
            const n = new Map();
            for (const task of tasks) {
                const segs = task.region.split('/');
                for (let d = 1; d <= segs.length; d++) {
                    const p = segs.slice(0, d).join('/');
                    n.set(p, (n.get(p) || 0) + 1);
                }
            }
            // written only when changed: this runs each frame events come
            for (const [p, { count, btn }] of buttons) {
                const known = inScope(p, watched);
                const text = known ? `(${n.get(p) || 0})` : '';
                if (count.textContent === text && btn.hasAttribute('aria-label')) continue;
                count.textContent = text;
                btn.setAttribute('aria-label', known
                    ? t('con.regionCount', { name: btn.firstChild.textContent, n: n.get(p) || 0 })
                    : btn.firstChild.textContent);
            }
        },
    };
}
