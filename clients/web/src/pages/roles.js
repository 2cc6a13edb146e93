// The console's route (#/console, coordinators and admins): its heading
// at once, the rest (pages/console/) loaded on demand.
import { t } from '../i18n/index.js';
import { h } from '../ui/dom.js';

// The console is a chunk of its own (pages/console/), loaded when a
// coordinator or admin opens it: the phone pages' first load never
// carries it. Until it is here the page says it is loading.
export function consolePage(ctx) {
    const wait = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
    const section = h('section', { class: 'console' }, h('h1', null, t('console.title')), wait);
    let left = false;
    ctx.onLeave(() => { left = true; });
    import('./console/index.js').then((m) => {
        if (!left) return m.startConsole(ctx, section);
        return null;
    }).catch(() => {
        if (!left) wait.textContent = t('con.loadFailed');
    });
    return section;
}
