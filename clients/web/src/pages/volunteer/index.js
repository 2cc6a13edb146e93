// index.js -- the volunteer's page (#/volunteer), phone first: whether
// I take offers now, the offers made to me (live, counting down), my
// tasks (check-in, check-out), my teams (invitations, a team's page),
// tasks nearby to claim, my record, my points and the credit supermarket, my settings (skills, home, distance, weekly slots) and the city's board.
// Each section is a module of this folder; what they show lives in the
// store (store.js), which the shell feeds with every event.
import { lang, t } from '../../i18n/index.js';
import { askPermission, notifySupported, permission } from '../../lib/notify.js';
import { markReady } from '../../lib/ready.js';
import { regionLine } from '../../lib/regions.js';
import { formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { myTasksSection } from './mytasks.js';
import { nearbySection } from './nearby.js';
import { offersSection } from './offers.js';
import { availability, profileForm } from './profile.js';
import { boardSection, recordSection } from './record.js';
import { shopSection } from './shop.js';
import { volunteerStore } from './store.js';
import { teamsSection } from './teams.js';
import './volunteer.css';

export function volunteerPage(ctx) {
    const store = volunteerStore(ctx);
    const name = ctx.me?.name || ctx.login.user;
    const cityClock = h('p', { class: 'muted' });
    const paintClock = () => {
        cityClock.textContent = t('home.cityTime',
            { time: formatCityWhen(Math.floor(Date.now() / 1000), ctx.tz(), lang()) });
    };
    paintClock();
    const clockTimer = setInterval(paintClock, 20000);
    ctx.onLeave(() => clearInterval(clockTimer));
    // A pending sign-up never gets here (the shell sends it to
    // #/pending); its approval may (ctx.notice says so).
    const head = h('section', { class: 'card vol-head' },
        h('h1', null, t('volunteer.title')),
        h('p', { class: 'lead' }, t('home.hello', { name })),
        h('p', { class: 'muted place' }, t('vol.scope', { place: regionLine(ctx.login.region, 1) })),
        cityClock,
        ctx.notice ? h('p', { class: 'notice', role: 'status' }, ctx.notice) : null);

    const why = h('p', { class: 'notice', hidden: true });
    const shared = {
        setProfile(p) {
            store.profile = p;
            store.home = p && p.lon !== undefined ? { lon: p.lon, lat: p.lat } : null;
            avail.paint(p);
            form.paint(p);
            store.refreshMe().then(() => near.load());
        },
    };
    const avail = availability(ctx, shared);
    const form = profileForm(ctx, shared);
    const offers = offersSection(ctx, store);
    const mine = myTasksSection(ctx, store);
    const near = nearbySection(ctx, store);
    const rec = recordSection(ctx, store);
    const board = boardSection(ctx, store);
    const shop = shopSection(ctx, store);
    const teams = teamsSection(ctx, store);
    head.append(avail.node, why, notifyControl());

    function paintWhy() {
        const me = store.me;
        if (!me || me.role !== 'volunteer') return;
        const missing = [];
        if (!Array.isArray(me.skills) || me.skills.length === 0) missing.push(t('vol.why.skills'));
        if (!me.home) missing.push(t('vol.why.home'));
        if (!me.available) missing.push(t('vol.why.available'));
        why.hidden = missing.length === 0;
        why.textContent = missing.length ? t('vol.why.text', { list: missing.join(t('vol.why.sep')) }) : '';
    }

    function paint(what) {
        if (what === 'teams') {
            teams.paint();
            return;
        }
        offers.paint(); // cheap: only new or gone offers change
        if (what !== 'offers') mine.paint();
        if (what === 'me' || what === 'all') {
            rec.paint();
            paintWhy();
        }
    }
    ctx.onLeave(store.subscribe(paint));
    paint('all');

    // What the server says now.
    form.load().then(() => ctx.client.call('volunteer.update', {})).then(
        (p) => shared.setProfile(p), () => {});
    store.load().then(() => {
        paint('all');
        markReady('volunteer');
    });
    board.load();
    shop.load();
    teams.load();

    return h('div', { class: 'vol' }, head, offers.node, mine.node, teams.node, near.node,
        rec.node, shop.node, form.node, board.node);
}

function notifyControl() {
    const out = h('p', { class: 'muted', role: 'status' });
    const btn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
        paint(await askPermission());
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
