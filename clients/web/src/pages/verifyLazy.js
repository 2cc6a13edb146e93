// verifyLazy.js -- the verify page's stand-in in the first load
// (#/verify): its heading at once, then the page (verify.js, a chunk of
// its own with its words and CSS).
import { t } from '../i18n/index.js';
import { lazyPage } from '../lib/lazyPage.js';
import { h } from '../ui/dom.js';

export function verifyPage(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const box = h('section', { class: 'card' }, h('h1', null, t('verify.title')), said);
    return lazyPage(ctx, box, said, () => import('./verify.js'),
        (mod) => mod.verifyPage(ctx, query));
}
