// teamLazy.js -- the team page's stand-in in the first load (#/team?id=G1):
// its heading and a way back at once, then the page itself (team.js, a
// chunk of its own) on first use.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';
import { h } from '../../ui/dom.js';

export function teamPage(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('team.loading'));
    const box = h('section', { class: 'vol' }, h('p', null, h('a', { href: '#/volunteer' },
        t('team.back'))), h('h1', null, t('team.page.title')), said);
    let left = false;
    ctx.onLeave(() => { left = true; });
    import('./team.js').then((mod) => {
        if (left) return;
        const hadFocus = box.contains(document.activeElement);
        const node = mod.teamView(ctx, query);
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
