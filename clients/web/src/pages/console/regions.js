// regions.js -- region paths in words for the console (the names are
// config.json's, lib/regions.js; a region without one shows its code),
// and the tree of a token's scope built from the regions the console
// has seen (the queue, the account list).
import { levelName, levelNames } from '../../lib/regions.js';

/** The last level of a region path in words: "历下区" (zh) or "Lixia"
 * (en), its code when no name is known. */
export function segName(path) {
    return levelName(path);
}

/** A region below `base` in words: "泉城路街道 / 新和社区". */
export function regionName(region, base = '') {
    const skip = base ? base.split('/').length : 0;
    return levelNames(region, skip).join(' / ');
}

/** The tree under scope of a set of region paths: nested
 * {path, seg, children: [...]} with every prefix below scope. */
export function buildTree(scope, regions) {
    const root = { path: scope, seg: scope.split('/').pop(), children: [] };
    const byPath = new Map([[scope, root]]);
    const depth0 = scope.split('/').length;
    for (const r of [...regions].sort()) {
        if (!(r === scope || r.startsWith(`${scope}/`))) continue;
        const segs = r.split('/');
        for (let d = depth0 + 1; d <= segs.length; d++) {
            const p = segs.slice(0, d).join('/');
            if (byPath.has(p)) continue;
            const node = { path: p, seg: segs[d - 1], children: [] };
            byPath.get(segs.slice(0, d - 1).join('/')).children.push(node);
            byPath.set(p, node);
        }
    }
    return root;
}
