// lazy.js -- the partner's page's stand-in in the first load (#/partner,
// role partner: a caring enterprise, 爱心伙伴): its heading at once,
// then the page itself (partner.js, a chunk of its own with its words
// and CSS) on first use. The volunteer's first load carries only this.
import { t } from '../../i18n/index.js';
import { lazyPage } from '../../lib/lazyPage.js';
import { h } from '../../ui/dom.js';

export function partnerPage(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const box = h('section', { class: 'card' }, h('h1', null, t('partner.title')), said);
    return lazyPage(ctx, box, said, () => import('./partner.js'),
        (mod) => mod.partnerView(ctx, query));
}
