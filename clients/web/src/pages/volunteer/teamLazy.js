// teamLazy.js -- the team page's stand-in in the first load (#/team?id=G1):
// its heading and a way back at once, then the page itself (team.js, a
// chunk of its own) on first use.
import { t } from '../../i18n/index.js';
import { lazyPage } from '../../lib/lazyPage.js';
import { h } from '../../ui/dom.js';

export function teamPage(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('team.loading'));
    const box = h('section', { class: 'vol' }, h('p', null, h('a', { href: '#/volunteer' },
        t('team.back'))), h('h1', null, t('team.page.title')), said);
    return lazyPage(ctx, box, said, () => import('./team.js'),
        (mod) => mod.teamView(ctx, query));
}
