// The page of a pending sign-up (#/pending): an open sign-up
// (auth.signup with a community, no invite) is a volunteer whose calls
// are refused until a coordinator of that community approves it. The
// shell (app.js) sends such a session here instead of #/volunteer. It
// says so in words: what was applied for, what happens next, a button
// to look again (account.me, which a pending session may call) and one
// to log out. The decision comes as the account_reviewed event: once
// approved the shell's login says active and this page moves on to
// #/volunteer by itself (a reload or the next log-in reads the status
// again); a rejection is said here with its reason, and the session
// then ends (the shell says why on #/login).
import { lang, t } from '../i18n/index.js';
import { regionLine } from '../lib/regions.js';
import { formatCityTime } from '../lib/time.js';
import { h } from '../ui/dom.js';

export function pendingPage(ctx) {
    const name = ctx.me?.name || ctx.login.user;
    const said = h('p', { class: 'notice', role: 'status' }, t('pending.status'));
    const check = h('button', { type: 'button', class: 'secondary', onclick: checkNow },
        t('pending.check'));
    const out = h('button', { type: 'button', class: 'secondary', onclick: () => ctx.signOut() },
        t('header.logout'));

    async function checkNow() {
        check.disabled = true;
        try {
            const status = await ctx.recheckStatus();
            if (status === 'pending') {
                said.textContent = t('pending.still', { time: formatCityTime(
                    Math.floor(Date.now() / 1000), ctx.tz(), { date: false }) });
            }
        } catch {
            said.textContent = t('pending.offline');
        } finally {
            check.disabled = false;
        }
    }

    ctx.onLeave(ctx.client.on('event', (ev) => {
        if (ev.type !== 'account_reviewed' || ev.approved) return;
        said.textContent = ev.reason ? t('pending.rejected', { reason: ev.reason })
            : t('pending.rejectedNoReason');
        check.hidden = true;
    }));

    return h('section', { class: 'card narrow pending' },
        h('h1', null, t('pending.title')),
        h('p', { class: 'lead' }, t('pending.applied', { name,
            place: regionLine(ctx.login.region, 0, lang()) })),
        said,
        h('h2', null, t('pending.nextTitle')),
        h('ol', { class: 'steps' },
            h('li', null, t('pending.next1')),
            h('li', null, t('pending.next2')),
            h('li', null, t('pending.next3'))),
        h('div', { class: 'actions' }, check, out));
}
