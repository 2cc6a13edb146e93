// app.js -- the shell every page stands on: the header (language switch,
// large text, who is logged in, log-out, the connection's state), the
// router, and the session: one WishClient for the page, said hello with
// the saved log-in, its events' resume point saved as they are handled.
//
// A page is a function (ctx, query) -> Node. ctx gives it:
//   client          the WishClient (src/client/wish.js)
//   login           the saved log-in {city, user, role, region, status,
//                   expires} or null (never shown: token)
//   hello           hello's result once signed in, else null
//   tz()            the city's offset (hello's tz_offset, else 480)
//   signIn(city, loginResult)  save it, hello, go to the role's home
//   signOut()       auth.logout, forget it, go to #/login
//   recheckStatus() reads the account's status again (account.me), goes
//                   home when it changed; resolves with it
//   onLeave(fn)     runs fn when the page is left (remove listeners)
//   notice          a message for the next page (e.g. why it is here)
//   rerender()      render the page again (after a change of language)
import { connect, pageSocketUrl } from './client/wish.js';
import { initLang, lang, onLangChange, setLang, t } from './i18n/index.js';
import { getConfig, loadConfig } from './lib/config.js';
import { notifyOffer } from './lib/notify.js';
import { go, hashForSearch, homeOf, parseHash } from './lib/router.js';
import { loadSkills } from './lib/skills.js';
import { clearLogin, loadLarge, loadLogin, loadResume, saveLarge, saveLogin,
    saveResume, updateLogin } from './lib/store.js';
import { DEFAULT_TZ } from './lib/time.js';
import { h, mount } from './ui/dom.js';
import { loginPage } from './pages/login.js';
import { signupPage } from './pages/signup.js';
import { pendingPage } from './pages/pending.js';
import { resetPage } from './pages/reset.js';
import { consolePage } from './pages/roles.js';
import { residentHome } from './pages/resident/lazy.js';
import { attachVolunteer } from './pages/volunteer/store.js';
import { volunteerPage } from './pages/volunteer/index.js';
import { teamPage } from './pages/volunteer/teamLazy.js';
import { verifyPage } from './pages/verifyLazy.js';
import { partnerPage } from './pages/partner/lazy.js';

// Routes: path -> [page, who may see it ('any', 'out': signed out,
// 'pending': a sign-up waiting for approval, or a list of roles: of
// accounts not pending).
const ROUTES = {
    '/login': [loginPage, 'out'],
    '/signup': [signupPage, 'out'],
    '/reset': [resetPage, 'any'],
    '/pending': [pendingPage, 'pending'],
    '/volunteer': [volunteerPage, ['volunteer']],
    '/team': [teamPage, ['volunteer']],
    '/verify': [verifyPage, 'any'],
    '/resident': [residentHome, ['resident']],
    '/console': [consolePage, ['coordinator', 'admin']],
    '/partner': [partnerPage, ['partner']],
};

export async function start(root) {
    initLang();
    document.documentElement.classList.toggle('large', loadLarge());
    const fromSearch = hashForSearch(location.search);
    if (fromSearch) {
        history.replaceState(null, '', location.pathname + fromSearch);
    }
    await loadConfig();

    const client = connect(pageSocketUrl(), {});
    const ctx = {
        client,
        login: loadLogin(),
        hello: null,
        notice: null,
        tz: () => ctx.hello?.tz_offset ?? DEFAULT_TZ,
        config: getConfig(),
        signIn,
        signOut,
        recheckStatus,
        onLeave: (fn) => leaving.push(fn),
        rerender: () => route(),
    };
    let leaving = [];
    attachVolunteer(ctx); // before hello: its replayed events count

    // ---------------------------------------------------------- header
    const status = h('p', { class: 'conn', role: 'status', 'aria-live': 'polite' });
    const who = h('span', { class: 'who' });
    const logout = h('button', { type: 'button', class: 'link', onclick: () => signOut() });
    const langBtn = h('button', { type: 'button', class: 'chip',
        onclick: () => setLang(lang() === 'en' ? 'zh-CN' : 'en') });
    const largeBtn = h('button', { type: 'button', class: 'chip',
        onclick: () => {
            const on = !document.documentElement.classList.contains('large');
            document.documentElement.classList.toggle('large', on);
            saveLarge(on);
            paintHeader();
        } });
    const title = h('a', { class: 'brand', href: '#/' });
    const main = h('main', { id: 'main', tabindex: '-1' });
    const skip = h('a', { class: 'skip', href: '#main',
        onclick: (e) => { e.preventDefault(); main.focus(); } });
    const header = h('header', { class: 'top' },
        h('div', { class: 'bar' }, title,
            h('div', { class: 'tools' }, langBtn, largeBtn)),
        h('div', { class: 'bar sub' }, who, logout), status);
    mount(root, skip, header, main);

    function paintHeader() {
        skip.textContent = t('app.skip');
        title.textContent = t('app.name');
        title.setAttribute('aria-label', `${t('app.name')} · ${t('app.tagline')}`);
        langBtn.textContent = t('header.langSwitch');
        langBtn.setAttribute('aria-label', t('header.langSwitchLabel'));
        langBtn.lang = lang() === 'en' ? 'zh-CN' : 'en';
        const large = document.documentElement.classList.contains('large');
        largeBtn.textContent = t('header.large');
        largeBtn.setAttribute('aria-pressed', String(large));
        largeBtn.setAttribute('aria-label', large ? t('header.largeOn') : t('header.largeOff'));
        logout.textContent = t('header.logout');
        logout.hidden = !ctx.login;
        who.textContent = ctx.login ? t('header.user', { name: ctx.hello?.name
            || ctx.me?.name || ctx.login.user, role: t(`role.${ctx.login.role}`) }) : '';
        paintStatus();
        document.title = `${t('app.name')} · ${t('app.tagline')}`;
    }

    function paintStatus() {
        const s = client.state;
        const show = s === 'waiting' || (s === 'connecting' && ctx.login && !ctx.hello);
        status.textContent = show ? t(`conn.${s}`) : '';
        status.hidden = !show;
    }

    // --------------------------------------------------------- session
    client.on('state', (s, err) => {
        paintStatus();
        if (s === 'failed' && err && err.code === 'UNAUTHENTICATED' && ctx.login) {
            const why = ctx.ended;
            dropLogin();
            ctx.notice = why || t('login.ended');
            go('#/login');
        }
    });
    client.on('handled', (id) => {
        if (ctx.login) saveResume(ctx.login.city, ctx.login.user, id);
    });
    client.on('event', (ev) => {
        if (ev.type === 'offer') notifyOffer(ev, ctx.tz());
        if (ev.type === 'account_reviewed' && ctx.login) {
            // Approved: the session goes on as an active volunteer (no new
            // log-in). Rejected: the session is about to end; #/login will
            // say why.
            if (!ev.approved) {
                ctx.ended = ev.reason ? t('pending.rejected', { reason: ev.reason })
                    : t('pending.rejectedNoReason');
            }
            setStatus(ev.approved ? 'active' : 'disabled');
            if (ev.approved && parseHash(location.hash).path === '/pending') {
                whenServed().then(() => {
                    ctx.notice = t('pending.approved');
                    go(homeFor());
                });
            }
        }
    });

    // An approved session serves a volunteer's calls once wishd has read
    // the change (account-poll ms after the event, 250 by default);
    // until then they are refused as pending. The skill catalogue is the
    // probe: refused to a pending session, and the volunteer page needs
    // it anyway. Gives up (and lets the page say what fails) after 5 s.
    async function whenServed() {
        for (let i = 0; i < 25; i++) {
            try {
                await loadSkills(client, { force: true });
                return;
            } catch (e) {
                if (e.code !== 'FORBIDDEN') return;
            }
            await new Promise((r) => { setTimeout(r, 200); });
        }
    }

    function setStatus(status2) {
        ctx.login = { ...ctx.login, status: status2 };
        updateLogin({ status: status2 });
    }

    // Where the signed-in account belongs: a pending sign-up waits on
    // #/pending, everyone else goes to the role's home.
    function homeFor() {
        const s = ctx.login?.status;
        return s === 'pending' || s === 'disabled' ? '#/pending' : homeOf(ctx.login?.role);
    }

    // The account's status as the server has it now (account.me): a
    // sign-up approved while this page was closed is active here too.
    async function readStatus() {
        const acct = await client.call('account.me', undefined, { timeoutMs: 10000 });
        if (ctx.login && acct && acct.status && acct.status !== ctx.login.status) {
            setStatus(acct.status);
        }
        return ctx.login?.status;
    }

    async function recheckStatus() {
        const before = ctx.login?.status;
        const now = await readStatus();
        if (now !== before && now === 'active') {
            await whenServed();
            ctx.notice = t('pending.approved');
            go(homeFor());
        }
        return now;
    }

    async function helloSaved() {
        const l = ctx.login;
        ctx.hello = await client.hello(l.token, { resume: loadResume(l.city, l.user) || undefined });
        try {
            ctx.me = await client.call('me');
        } catch {
            ctx.me = null; // a pending account may call me; others: fine
        }
        if (l.status === 'pending') await readStatus().catch(() => {});
        loadSkills(client).catch(() => {});
        paintHeader();
    }

    function dropLogin() {
        clearLogin();
        ctx.login = null;
        ctx.ended = null;
        ctx.hello = null;
        ctx.me = null;
        client.forget();
        paintHeader();
    }

    async function signIn(city, result) {
        ctx.login = saveLogin(city, result);
        await helloSaved();
        go(homeFor());
    }

    async function signOut() {
        const was = ctx.login;
        ctx.login = null; // the session's end that follows is no surprise
        if (was) {
            try {
                await client.call('auth.logout', undefined, { timeoutMs: 3000 });
            } catch { /* an operator's token, or offline: forget it anyway */ }
        }
        dropLogin();
        go('#/login');
    }

    // ----------------------------------------------------------- router
    function route() {
        for (const fn of leaving.splice(0)) {
            try {
                fn();
            } catch { /* a page's cleanup */ }
        }
        const { path, query } = parseHash(location.hash);
        if (path === '/') {
            go(ctx.login ? homeFor() : '#/login');
            return;
        }
        const r = ROUTES[path];
        const pending = ['pending', 'disabled'].includes(ctx.login?.status);
        let node;
        if (!r) {
            node = h('section', null, h('h1', { tabindex: '-1' }, t('app.notFound')),
                h('p', null, h('a', { href: '#/' }, t('app.home'))));
        } else if (r[1] === 'out' && ctx.login) {
            go(homeFor());
            return;
        } else if (r[1] === 'pending' && !pending) {
            go(ctx.login ? homeFor() : '#/login');
            return;
        } else if (Array.isArray(r[1])
            && (!ctx.login || pending || !r[1].includes(ctx.login.role))) {
            go(ctx.login ? homeFor() : '#/login');
            return;
        } else {
            node = r[0](ctx, query);
        }
        mount(main, node);
        ctx.notice = null;
        const h1 = main.querySelector('h1');
        if (h1) {
            h1.setAttribute('tabindex', '-1');
            h1.focus({ preventScroll: false });
        }
    }

    onLangChange(() => {
        paintHeader();
        route();
    });
    window.addEventListener('hashchange', route);
    paintHeader();
    if (ctx.login) {
        try {
            await helloSaved();
        } catch (e) {
            if (e.code === 'UNAUTHENTICATED' || e.code === 'FORBIDDEN') {
                dropLogin();
                ctx.notice = t('login.ended');
            }
            // else offline: the client keeps trying; pages show the state
        }
    }
    route();
    return ctx;
}
