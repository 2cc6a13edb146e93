// teams.js -- my volunteer teams (志愿团队) on the volunteer's page: the
// invitations to answer (team_invite events, kept by the store across a
// reload), my teams (team.list {mine}) each a big link to its own page
// (#/team?id=G1, team.js, loaded on first use), and what happened to
// them live (a new team order for a leader, a removal). docs/protocol.md,
// "Teams".
import { lang, t } from '../../i18n/index.js';
import { formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { regionWords, volError } from './format.js';

// team.answer's refusals in words.
function answerError(e) {
    if (e && e.code === 'CONFLICT' && /team|5|full/.test(e.message || '')
        && !/invitation/.test(e.message || '')) return t('team.invite.full');
    if (e && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND')) return t('team.invite.gone');
    return volError(e);
}

export function teamsSection(ctx, store) {
    const said = h('p', { class: 'status-line', role: 'status' });
    const news = h('p', { class: 'notice', role: 'status', hidden: true });
    const invites = h('ul', { class: 'cards', 'aria-label': t('team.invite.title') });
    const list = h('ul', { class: 'cards teams' });
    const node = h('section', { class: 'card', id: 'teams', 'aria-labelledby': 'teams-h' },
        h('h2', { id: 'teams-h' }, t('team.mine.title')), news, invites, said, list);
    const names = new Map(); // team_id -> name, for the news lines
    let seenNews = store.teamNews;

    function inviteCard(inv) {
        const team = inv.team || { team_id: inv.team_id, name: inv.team_id, region: '' };
        const out = h('p', { class: 'status-line', role: 'status' });
        const answer = async (accept, btns) => {
            btns.forEach((b) => { b.disabled = true; });
            try {
                await ctx.client.call('team.answer', { team_id: team.team_id, accept });
                store.dropInvite(team.team_id);
                load(t(accept ? 'team.invite.joined' : 'team.invite.declined', { name: team.name }));
            } catch (e) {
                out.textContent = answerError(e);
                if (e && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND')
                    && out.textContent === t('team.invite.gone')) {
                    setTimeout(() => store.dropInvite(team.team_id), 4000);
                }
                btns.forEach((b) => { b.disabled = false; });
            }
        };
        const yes = h('button', { type: 'button', class: 'primary' },
            t('team.invite.accept', { name: team.name }));
        const no = h('button', { type: 'button', class: 'secondary' }, t('team.invite.decline'));
        yes.onclick = () => answer(true, [yes, no]);
        no.onclick = () => answer(false, [yes, no]);
        return h('li', { class: 'offer', 'data-invite': team.team_id },
            h('h3', null, t('team.invite.title')),
            h('p', { class: 'lead' }, t('team.invite.text',
                { name: team.name, place: regionWords(team.region) || team.region })),
            h('p', { class: 'muted' }, t('team.invite.by', { by: inv.by || '—',
                until: formatCityWhen(inv.expires_at, ctx.tz(), lang()) })),
            h('div', { class: 'actions' }, yes, no), out);
    }

    // An invitation read back from storage has only its id: its team's
    // name and region come from team.get (anyone may read it).
    async function complete(inv) {
        try {
            const g = await ctx.client.call('team.get', { team_id: inv.team_id });
            inv.team = { team_id: g.team_id, name: g.name, region: g.region };
            paintInvites();
        } catch (e) {
            if (e && e.code === 'NOT_FOUND') store.dropInvite(inv.team_id);
        }
    }

    function paintInvites() {
        const now = Date.now();
        const live = [...store.invites.values()].filter((i) => i.expires_at * 1000 > now);
        invites.replaceChildren(...live.map(inviteCard));
        invites.hidden = live.length === 0;
        if (live.length && said.textContent === t('team.mine.none')) said.textContent = '';
        for (const i of live) if (!i.team) complete(i);
    }

    function teamItem(g) {
        names.set(g.team_id, g.name);
        const me = ctx.login?.user;
        const lead = (g.leaders || []).some((l) => l.id === me);
        return h('li', { 'data-team': g.team_id },
            h('a', { class: 'button primary wide', href: `#/team?id=${encodeURIComponent(g.team_id)}` },
                t('team.mine.open', { name: g.name })),
            h('p', { class: 'muted' }, regionWords(g.region) || g.region, ' · ',
                t('team.mine.members', { n: g.members || 0 }),
                lead ? ` · ${t('team.iLead')}` : ''));
    }

    // Reads my teams again; `keep` is what to say then (else whether I
    // have none).
    async function load(keep) {
        try {
            const r = await ctx.client.call('team.list', { mine: true, limit: 50 });
            const teams = r.teams || [];
            list.replaceChildren(...teams.map(teamItem));
            said.textContent = keep || (teams.length || store.invites.size ? '' : t('team.mine.none'));
        } catch (e) {
            said.textContent = volError(e);
        }
    }

    function paintNews() {
        const ev = store.teamNews;
        if (!ev || ev === seenNews) return;
        seenNews = ev;
        if (ev.type === 'team_order') {
            news.textContent = t('team.news.order', { name: names.get(ev.team_id) || ev.team_id,
                title: ev.task?.title || ev.task?.task_id || '' });
            news.hidden = false;
        } else if (ev.type === 'team_removed') {
            news.textContent = t('team.news.removed');
            news.hidden = false;
            load();
        } else {
            load(); // a member joined: the counts changed
        }
    }

    paintInvites();
    return {
        node,
        load,
        /** After a team event (the store's 'teams'). */
        paint() {
            paintInvites();
            paintNews();
        },
    };
}
