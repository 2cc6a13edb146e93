// The role homes: #/volunteer, #/resident, #/console (coordinators and
// admins). For now each greets, says the city's time and says plainly
// that its page is coming (issue 16: other hands build them on this
// shell); the console is pages/console/, loaded on demand; the volunteer's already turns on offer notifications, and a
// pending sign-up is told it waits for approval (and when it is
// decided: the account_reviewed event).
import { lang, t } from '../i18n/index.js';
import { askPermission, notifySupported, permission } from '../lib/notify.js';
import { formatCityWhen } from '../lib/time.js';
import { h } from '../ui/dom.js';

function greeting(ctx) {
    const name = ctx.me?.name || ctx.login.user;
    const now = Math.floor(Date.now() / 1000);
    return [
        h('p', { class: 'lead' }, t('home.hello', { name })),
        h('p', { class: 'muted' }, t('home.cityTime', { time: formatCityWhen(now, ctx.tz(), lang()) })),
    ];
}

// A pending account's notice, changed in place when it is decided.
function pendingNotice(ctx) {
    if (ctx.login.status !== 'pending') return null;
    const p = h('p', { class: 'notice', role: 'status' }, t('home.pending'));
    ctx.onLeave(ctx.client.on('event', (ev) => {
        if (ev.type !== 'account_reviewed') return;
        p.textContent = ev.approved ? t('home.approved')
            : t('home.rejected', { reason: ev.reason || '' });
    }));
    return p;
}

function comingSoon(about) {
    return h('section', { class: 'soon', 'aria-labelledby': 'soon-h' },
        h('h2', { id: 'soon-h' }, t('soon.title')),
        h('p', null, about),
        h('p', { class: 'muted' }, t('soon.body')));
}

function notifyControl() {
    const out = h('p', { class: 'muted', role: 'status' });
    const btn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
        const p = await askPermission();
        paint(p);
    } }, t('notify.allow'));
    function paint(p) {
        btn.hidden = p !== 'default';
        out.textContent = p === 'granted' ? t('notify.on') : p === 'denied'
            ? t('notify.denied') : p === 'unsupported' ? t('notify.unsupported')
                : t('notify.allowHint');
    }
    paint(notifySupported() ? permission() : 'unsupported');
    return h('div', { class: 'notify' }, btn, out);
}

export function volunteerPage(ctx) {
    return h('section', { class: 'card' },
        h('h1', null, t('volunteer.title')),
        greeting(ctx), pendingNotice(ctx), notifyControl(),
        comingSoon(t('volunteer.about')));
}

export function residentPage(ctx) {
    return h('section', { class: 'card' },
        h('h1', null, t('resident.title')),
        greeting(ctx), comingSoon(t('resident.about')));
}

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
