// tree.js -- the regions of the token's scope as a tree of buttons (the
// regions the queue and the account list have shown): picking one
// watches its queue. Plain buttons in nested lists, so Tab and Enter
// are all it takes; the watched one is aria-current. Counts of queued
// tasks show for the watched scope and what is below it: counted from a
// snapshot, then moved by each event (move(), O(the region's depth)) and
// painted once per frame (paint(), only the nodes that changed).
import { t } from '../../i18n/index.js';
import { h } from '../../ui/dom.js';
import { inScope } from './model.js';
import { buildTree, segName } from './regions.js';

export function treeView({ root, onPick }) {
    const regions = new Set([root]);
    const buttons = new Map(); // path -> {btn, count}
    const n = new Map(); // path -> queued tasks at it and below
    const changed = new Set(); // paths whose count moved since the last paint
    let watched = root;
    const list = h('div', { class: 'tree' });
    const el = h('nav', { class: 'regions', 'aria-labelledby': 'regions-h' },
        h('h2', { id: 'regions-h' }, t('con.regions')),
        h('p', { class: 'hint' }, t('con.regionsHint')), list);

    function node(nd, depth) {
        const count = h('span', { class: 'count' });
        const btn = h('button', { type: 'button', class: 'node', 'data-region': nd.path,
            onclick: () => onPick(nd.path) },
        h('span', { class: 'seg' }, segName(nd.path)), ' ', count);
        buttons.set(nd.path, { btn, count });
        return h('li', null, btn, nd.children.length
            ? h('ul', null, nd.children.map((c) => node(c, depth + 1))) : null);
    }

    function render() {
        buttons.clear();
        list.replaceChildren(h('ul', { class: 'root' }, node(buildTree(root, regions), 0)));
        mark();
        for (const p of buttons.keys()) paintOne(p);
    }

    function mark() {
        for (const [p, { btn }] of buttons) {
            if (p === watched) btn.setAttribute('aria-current', 'true');
            else btn.removeAttribute('aria-current');
        }
    }

    // One node's count and its label in words; written only when the
    // text changed (this runs each frame events come).
    function paintOne(p) {
        const b = buttons.get(p);
        if (!b) return;
        const known = inScope(p, watched);
        const text = known ? `(${n.get(p) || 0})` : '';
        if (b.count.textContent === text && b.btn.hasAttribute('aria-label')) return;
        const name = b.btn.firstChild.textContent;
        b.count.textContent = text;
        b.btn.setAttribute('aria-label', known ? t('con.regionCount', { name, n: n.get(p) || 0 }) : name);
    }

    // Adds d to the count of region and of every region above it.
    function bump(region, d) {
        const segs = region.split('/');
        for (let k = 1; k <= segs.length; k++) {
            const p = segs.slice(0, k).join('/');
            n.set(p, (n.get(p) || 0) + d);
            changed.add(p);
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
        /** Queued tasks per node (the watched subtree only), counted
         * anew from tasks (a snapshot) and painted. */
        counts(tasks) {
            n.clear();
            const per = new Map(); // region -> tasks: a few regions, 500 tasks
            for (const task of tasks) per.set(task.region, (per.get(task.region) || 0) + 1);
            for (const [region, k] of per) bump(region, k);
            changed.clear();
            for (const p of buttons.keys()) paintOne(p);
        },
        /** A task moved from region `from` to `to` (either null: it came
         * into or left the queue); painted by paint(). O(depth). */
        move(from, to) {
            if (from === to) return;
            if (from) bump(from, -1);
            if (to) bump(to, 1);
        },
        /** Paints the counts move() changed since the last paint. */
        paint() {
            for (const p of changed) paintOne(p);
            changed.clear();
        },
    };
}
