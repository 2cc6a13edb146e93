// lazy.js -- the partner's page's stand-in in the first load (#/partner,
// role partner: a caring enterprise, 爱心伙伴): its heading at once,
// then the page itself (partner.js, a chunk of its own with its words
// and CSS) on first use. The volunteer's first load carries only this.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';
import { h } from '../../ui/dom.js';

export function partnerPage(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const box = h('section', { class: 'card' }, h('h1', null, t('partner.title')), said);
    let left = false;
    ctx.onLeave(() => { left = true; });
    import('./partner.js').then((mod) => {
        if (left) return;
        const hadFocus = box.contains(document.activeElement);
        const node = mod.partnerView(ctx, query);
        box.replaceWith(node);
        const h1 = node.querySelector('h1');
        if (h1 && hadFocus) {
            h1.setAttribute('tabindex', '-1');
            h1.focus();
        }
    }, (e) => {
        said.textContent = anyError(e);
    });
    return box;
}
