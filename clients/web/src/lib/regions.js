// regions.js -- region paths in words. The names are the operator's:
// config.json's "regionNames", a table from a region's whole path to
// its names, e.g.
//   "jinan/lixia/quancheng": {"zh": "泉城路街道", "en": "Quancheng Road"}
// (public/config.json holds the demo city's, made by
// `scripts/demo.py --region-names`). A region with no name there shows
// as its code: the protocol carries codes only.
import { lang } from '../i18n/index.js';
import { getConfig } from './config.js';

/** The name of the region at `path` in the language l, or null. */
export function knownName(path, l = lang()) {
    const names = getConfig().regionNames;
    const n = names && Object.hasOwn(names, path) ? names[path] : null;
    if (!n) return null;
    return (l.startsWith('zh') ? n.zh : n.en) || n.zh || n.en || null;
}

/** The last level of `path` in words: its name, else its code. */
export function levelName(path, l = lang()) {
    const p = String(path || '');
    return knownName(p, l) || p.split('/').pop();
}

/** Each level of `path` below its first `skip` levels, in words
 * (["历下区", "泉城路街道", "新和社区"] for skip 1); at least the last. */
export function levelNames(path, skip = 0, l = lang()) {
    const segs = String(path || '').split('/');
    const from = Math.min(skip, segs.length - 1);
    const out = [];
    for (let i = from; i < segs.length; i++) out.push(levelName(segs.slice(0, i + 1).join('/'), l));
    return out;
}

/** A region as a line of words, the way an address is written in the
 * language: "济南市 历下区 泉城路街道 新和社区" (zh, largest first),
 * "Xinhe, Quancheng Road, Lixia, Jinan" (en, smallest first). */
export function regionLine(path, skip = 0, l = lang()) {
    const names = levelNames(path, skip, l);
    return l.startsWith('zh') ? names.join(' ') : names.reverse().join(', ');
}
