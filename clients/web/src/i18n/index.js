// i18n -- the apps' words in zh-CN (first) and en. The language is the
// one saved by the switch in the header (localStorage "mw.lang"), else
// the first of the browser's languages we have, else zh-CN.
//
//   t('login.locked', { until: '2026-12-07 13:05' })
//   setLang('en')          // saves it, sets <html lang>, tells listeners
//   onLangChange(fn)       // returns a function that removes fn
import enBase from './en.js';
import zhBase from './zh-CN.js';
import resEn from './resident.en.js';
import resZh from './resident.zh-CN.js';
import teamEn from './team.en.js';
import teamZh from './team.zh-CN.js';
import volEn from './volunteer.en.js';
import volZh from './volunteer.zh-CN.js';

// Each page's own catalogues, one line each: [zh-CN, en].
const PAGES = [
    [resZh, resEn], // the resident page (pages/resident/)
    [volZh, volEn], // the volunteer page (pages/volunteer/)
    [teamZh, teamEn], // my teams (volunteer/teams.js)
    // Not here: the words of pages loaded on demand, which their chunks
    // add when they load (addWords): console.*.js (pages/console/),
    // teams.lazy.*.js (the team page, the console's teams),
    // verify.lazy.*.js (the verify page), projects.lazy.*.js (the
    // partner's page, the console's projects).
];
const zh = Object.assign({}, zhBase, ...PAGES.map((p) => p[0]));
const en = Object.assign({}, enBase, ...PAGES.map((p) => p[1]));

export const LANGS = Object.freeze({ 'zh-CN': zh, en });
const KEY = 'mw.lang';
let current = 'zh-CN';
const listeners = new Set();

/** The language for a list of browser languages (navigator.languages). */
export function pickLang(prefs = []) {
    for (const p of prefs) {
        const l = String(p).toLowerCase();
        if (l.startsWith('zh')) return 'zh-CN';
        if (l.startsWith('en')) return 'en';
    }
    return 'zh-CN';
}

function storage() {
    try {
        return globalThis.localStorage || null;
    } catch {
        return null;
    }
}

/** Sets the language from the saved choice or the browser's. */
export function initLang() {
    const saved = storage()?.getItem(KEY);
    const nav = globalThis.navigator;
    current = LANGS[saved] ? saved
        : pickLang(nav?.languages?.length ? nav.languages : [nav?.language || '']);
    if (globalThis.document) document.documentElement.lang = current;
    return current;
}

export function lang() {
    return current;
}

export function setLang(l) {
    if (!LANGS[l] || l === current) return;
    current = l;
    storage()?.setItem(KEY, l);
    if (globalThis.document) document.documentElement.lang = l;
    for (const fn of [...listeners]) fn(l);
}

export function onLangChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
}

/** Adds a lazily loaded page's catalogues (its chunk calls this when it
 * loads, so that its words stay out of the first load). */
export function addWords(zhWords, enWords) {
    Object.assign(zh, zhWords);
    Object.assign(en, enWords);
}

/** The message key in the current language (falling back to zh-CN, then
 * the key itself), with {name} filled from vars. */
export function t(key, vars) {
    const s = LANGS[current][key] ?? zh[key] ?? key;
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? '') + '');
}
