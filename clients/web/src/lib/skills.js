// skills.js -- the city's skill catalogue (the `skills` method: [{code,
// zh, en}]) and each code's label in the current language. Loaded once
// per session; a code not in it shows as itself.
import { lang } from '../i18n/index.js';

let catalogue = new Map();
let loading = null;

/** Loads the catalogue with client (once; again with force). */
export function loadSkills(client, { force = false } = {}) {
    if (loading && !force) return loading;
    loading = client.call('skills').then((list) => {
        catalogue = new Map((list || []).map((s) => [s.code, s]));
        return catalogue;
    }, (e) => {
        loading = null;
        throw e;
    });
    return loading;
}

/** The label of code in language l (default the current one). */
export function skillLabel(code, l = lang()) {
    const s = catalogue.get(code);
    if (!s) return code;
    return (l.startsWith('zh') ? s.zh : s.en) || s.zh || code;
}

/** Every skill, in the catalogue's order: [{code, label}]. */
export function skillList(l = lang()) {
    return [...catalogue.values()].map((s) => ({ code: s.code, label: skillLabel(s.code, l) }));
}

/** For tests: sets the catalogue directly. */
export function setSkills(list) {
    catalogue = new Map(list.map((s) => [s.code, s]));
    loading = Promise.resolve(catalogue);
}
