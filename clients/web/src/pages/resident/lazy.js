// lazy.js -- the resident page's stand-in in the first load: it shows
// the page's heading at once and loads the page (resident.js, its own
// chunk with its CSS) on first use, keeping the entry small.
import { t } from '../../i18n/index.js';
import { lazyPage } from '../../lib/lazyPage.js';
import { h } from '../../ui/dom.js';

export function residentHome(ctx, query) {
    const said = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const box = h('section', { class: 'resident' }, h('h1', null, t('res.title')), said);
    const notice = ctx.notice; // the shell clears it once this is shown
    return lazyPage(ctx, box, said, () => import('./resident.js'), (mod) => {
        // the page reads the notice the shell had when it was opened
        const was = ctx.notice;
        ctx.notice = notice;
        const node = mod.residentPage(ctx, query);
        ctx.notice = was;
        return node;
    });
}
