// regions.js -- region paths in words: the known districts, streets and
// communities of Jinan by their Chinese names (docs: /work/shared's
// CONTEXT), others as their code; and the tree of a token's scope built
// from the regions the console has seen (the queue, the account list).
import { lang } from '../../i18n/index.js';

const ZH = {
    jinan: '济南市', lixia: '历下区', shizhong: '市中区', tianqiao: '天桥区',
    licheng: '历城区', huaiyin: '槐荫区', changqing: '长清区', zhangqiu: '章丘区',
    laiwu: '莱芜区', daminghu: '大明湖街道', dongguan: '东关街道',
    wenzu: '文祖街道', duozhuang: '垛庄镇', quancheng: '泉城路街道',
    yanbei: '堰北社区', qingchun: '青春社区', shunjing: '舜井社区', xinhe: '新和社区',
};

/** One segment in words: "历下区" (zh) or "Lixia" (en). */
export function segName(seg, l = lang()) {
    if (l.startsWith('zh') && ZH[seg]) return ZH[seg];
    return seg.charAt(0).toUpperCase() + seg.slice(1);
}

/** A region below `base` in words: "泉城路街道 / 新和社区". */
export function regionName(region, base = '') {
    const segs = String(region || '').split('/');
    const skip = base ? base.split('/').length : 0;
    const rest = segs.length > skip ? segs.slice(skip) : segs.slice(-1);
    return rest.map((s) => segName(s)).join(' / ');
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
