// lazy.js -- the resident page's stand-in in the first load: it shows
// the page's heading at once and loads the page (resident.js, its own
// chunk with its CSS) on first use, keeping the entry small.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';
import { h } from '../../ui/dom.js';

export function residentHome(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const box = h('section', { class: 'resident' }, h('h1', null, t('res.title')), said);
    const notice = ctx.notice; // the shell clears it once this is shown
    let left = false;
    ctx.onLeave(() => { left = true; });
    import('./resident.js').then((mod) => {
        if (left) return;
        const hadFocus = box.contains(document.activeElement);
        const was = ctx.notice;
        ctx.notice = notice;
        const node = mod.residentPage(ctx, query);
        ctx.notice = was;
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
