// team.js -- a team's page for its volunteers (#/team?id=G1, a chunk of
// its own): who is in it, its figures of the quarter (hours, services
// done, rating) and of all time; for a leader also the invitations out,
// inviting a member by user name, and the team's orders, each with the
// member to put on one of its places (team.fill: a refusal says in
// words who cannot go and why: a clash, too many tasks, no skill). A
// member may leave; a leader may remove a member. Kept live by the
// store's team events (a member joined, a new order). docs/protocol.md,
// "Teams".
import { addWords, lang, t } from '../../i18n/index.js';
import teamsEn from '../../i18n/teams.lazy.en.js';
import teamsZh from '../../i18n/teams.lazy.zh-CN.js';
import { skillLabel } from '../../lib/skills.js';
import { formatCityWhen } from '../../lib/time.js';
import { field, h, uid } from '../../ui/dom.js';
import { regionWords, volError, whenWords } from './format.js';
import { volunteerStore } from './store.js';
import './team.css';

addWords(teamsZh, teamsEn);

const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);

/** team.fill's refusals in words, naming the member. */
export function fillError(e, name) {
    const msg = (e && e.message) || '';
    if (e && e.code === 'CONFLICT') {
        if (/clashes/.test(msg)) return t('team.fill.clash', { name });
        if (/max_active/.test(msg)) return t('team.fill.maxActive', { name });
        if (/already on task/.test(msg)) return t('team.fill.already', { name });
        if (/no place left/.test(msg)) return t('team.fill.noPlace');
        if (/is not in team/.test(msg)) return t('team.fill.notMember', { name });
        if (/^task \S+ is /.test(msg)) return t('team.fill.notOpen');
    }
    if (e && e.code === 'FORBIDDEN' && /skill/.test(msg)) return t('team.fill.skill', { name });
    if (e && e.code === 'FORBIDDEN') return t('team.notLeader');
    if (e && e.code === 'NOT_FOUND' && /order/.test(msg)) return t('team.fill.notOpen');
    return volError(e);
}

/** team.invite's refusals in words, naming who was invited. */
function inviteError(e, who) {
    const msg = (e && e.message) || '';
    if (e && e.code === 'NOT_FOUND' && /volunteer/.test(msg)) return t('team.add.noSuch', { who });
    if (e && e.code === 'FORBIDDEN' && /region/.test(msg)) return t('team.add.region', { who });
    if (e && e.code === 'FORBIDDEN') return t('team.notLeader');
    if (e && e.code === 'CONFLICT' && /already/.test(msg)) return t('team.add.already', { who });
    if (e && e.code === 'CONFLICT') return t('team.add.full', { who });
    if (e && e.code === 'BAD_REQUEST' && /volunteer_id/.test(msg)) return t('team.add.noSuch', { who });
    return volError(e);
}

// A button that asks once more before it acts: the first tap shows
// `sure`, the second runs act().
function twoStep(label, sure, act) {
    let armed = false;
    const btn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (!armed) {
            armed = true;
            btn.textContent = sure;
            return;
        }
        btn.disabled = true;
        try {
            await act();
        } finally {
            btn.disabled = false;
            armed = false;
            btn.textContent = label;
        }
    } }, label);
    return btn;
}

export function teamView(ctx, query) {
    const id = String(query.id || '');
    const me = ctx.login?.user;
    const store = volunteerStore(ctx);
    const when = (at) => formatCityWhen(at, ctx.tz(), lang());
    const title = h('h1', null, t('team.page.title'));
    const said = h('p', { class: 'status-line', role: 'status' }, t('team.loading'));
    const body = h('div', { class: 'team-body' });
    const node = h('div', { class: 'vol team-page' },
        h('p', null, h('a', { class: 'back', href: '#/volunteer' }, t('team.back'))),
        h('section', { class: 'card' }, title, said), body);
    let view = null;

    function figures(g) {
        const f = g.figures || {};
        const tot = g.totals || {};
        const rows = [
            [t('team.fig.hours'), t('team.fig.hoursVal', { hours: num(f.hours) })],
            [t('team.fig.done'), t('team.fig.doneVal', { n: f.tasks_done || 0 })],
            [t('team.fig.rating'), f.ratings ? t('team.fig.stars', { stars: num(f.rating), n: f.ratings })
                : t('team.fig.noRating')],
        ];
        return h('section', { class: 'card', 'aria-labelledby': 'fig-h' },
            h('h2', { id: 'fig-h' }, t('team.fig.title', { quarter: f.quarter || '' })),
            h('dl', { class: 'stats' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
            h('p', { class: 'muted' }, t('team.fig.total', { hours: num(tot.hours), n: tot.tasks_done || 0 })));
    }

    function peopleCard(g, lead) {
        const people = g.people || [];
        const out = h('p', { class: 'status-line', role: 'status' });
        const items = people.map((p) => {
            const name = p.name || p.id;
            let action = null;
            if (p.id === me && !p.leader) {
                action = twoStep(t('team.leave'), t('team.leaveSure'), async () => {
                    try {
                        await ctx.client.call('team.remove', { team_id: id, volunteer_id: me });
                        out.textContent = t('team.left');
                        location.hash = '#/volunteer';
                    } catch (e) {
                        out.textContent = volError(e);
                    }
                });
            } else if (lead && !p.leader) {
                action = twoStep(t('team.people.remove', { name }), t('team.people.removeSure', { name }),
                    async () => {
                        try {
                            await ctx.client.call('team.remove', { team_id: id, volunteer_id: p.id });
                            load(t('team.people.removed', { name }));
                        } catch (e) {
                            out.textContent = volError(e);
                        }
                    });
            }
            return h('li', { 'data-person': p.id, class: p.id === me ? 'me' : null },
                h('span', { class: 'who' }, name, p.leader ? h('span', { class: 'badge' }, t('team.leader')) : null),
                action);
        });
        return h('section', { class: 'card', 'aria-labelledby': 'people-h' },
            h('h2', { id: 'people-h' }, t('team.people.title', { n: people.length })),
            h('ul', { class: 'people-list' }, items), out);
    }

    function inviteCard(g) {
        const f = field({ label: t('team.add.label'), name: 'who', hint: t('team.add.hint'),
            attrs: { autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: 64 } });
        const out = h('p', { class: 'status-line', role: 'status' });
        const send = h('button', { type: 'submit', class: 'primary' }, t('team.add.send'));
        const form = h('form', { novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            const who = f.input.value.trim();
            f.setError(null);
            if (!who) {
                f.setError(t('team.add.empty'));
                f.input.focus();
                return;
            }
            send.disabled = true;
            try {
                await ctx.client.call('team.invite', { team_id: id, volunteer_id: who });
                f.input.value = '';
                load(t('team.add.sent', { who }));
            } catch (err) {
                f.setError(inviteError(err, who));
                f.input.focus();
            } finally {
                send.disabled = false;
            }
        } }, f.row, send, out);
        const invited = g.invited || [];
        return h('section', { class: 'card', 'aria-labelledby': 'add-h' },
            h('h2', { id: 'add-h' }, t('team.add.title')), form,
            invited.length ? h('h3', null, t('team.invited.title')) : null,
            invited.length ? h('ul', { class: 'league' }, invited.map((i) => h('li', null,
                t('team.invited.until', { who: i.id, until: when(i.expires_at) })))) : null);
    }

    function orderCard(o, people) {
        const out = h('p', { class: 'status-line', role: 'status' });
        const selId = uid('fill');
        const sel = h('select', { id: selId, name: 'member' },
            people.map((p) => h('option', { value: p.id }, p.name || p.id)));
        const full = (o.filled || 0) >= (o.places || 0);
        const btn = h('button', { type: 'button', class: 'primary', disabled: full, onclick: async () => {
            const who = people.find((p) => p.id === sel.value);
            const name = who ? who.name || who.id : sel.value;
            btn.disabled = true;
            out.textContent = t('team.fill.sending');
            out.classList.remove('bad');
            try {
                await ctx.client.call('team.fill', { task_id: o.task_id, team_id: id, volunteer_id: sel.value });
                load(t('team.fill.done', { name }));
            } catch (e) {
                out.textContent = fillError(e, name);
                out.classList.add('bad');
                btn.disabled = false;
            }
        } }, t('team.fill.send'));
        return h('li', { 'data-order': o.task_id },
            h('h3', null, o.title || o.task_id),
            h('p', null, whenWords(o, ctx.tz())),
            h('p', { class: full ? 'done' : 'lead' }, full ? t('team.orders.full')
                : t('team.orders.places', { filled: o.filled || 0, places: o.places || 0 })),
            full ? null : h('div', { class: 'field' }, h('label', { for: selId }, t('team.fill.label')), sel),
            full ? null : btn, out);
    }

    function ordersCard(g) {
        const orders = g.orders || [];
        return h('section', { class: 'card', id: 'orders', 'aria-labelledby': 'orders-h' },
            h('h2', { id: 'orders-h' }, t('team.orders.title')),
            orders.length ? h('ul', { class: 'cards' }, orders.map((o) => orderCard(o, g.people || [])))
                : h('p', { class: 'muted' }, t('team.orders.none')));
    }

    function paint(g, keep) {
        view = g;
        const lead = (g.people || []).some((p) => p.id === me && p.leader)
            || (g.leaders || []).some((l) => l.id === me);
        title.textContent = g.name;
        said.textContent = keep || '';
        const skills = (g.skills || []).map((s) => skillLabel(s)).join('、');
        body.replaceChildren(
            h('section', { class: 'card' },
                h('p', { class: 'lead' }, regionWords(g.region) || g.region),
                g.description ? h('p', null, g.description) : null,
                skills ? h('p', { class: 'muted' }, t('team.page.skills', { list: skills })) : null,
                lead ? h('p', { class: 'badge-line' }, h('span', { class: 'badge' }, t('team.iLead'))) : null),
            lead ? ordersCard(g) : null,
            figures(g),
            peopleCard(g, lead),
            lead ? inviteCard(g) : null);
    }

    async function load(keep) {
        try {
            paint(await ctx.client.call('team.get', { team_id: id }), keep);
        } catch (e) {
            said.textContent = e && e.code === 'NOT_FOUND' ? t('team.notFound') : volError(e);
            if (keep) said.textContent = `${keep} ${said.textContent}`;
        }
    }

    ctx.onLeave(store.subscribe((what) => {
        const ev = store.teamNews;
        if (what === 'teams' && ev && ev.team_id === id) {
            const news = ev.type === 'team_order' ? t('team.news.order', { name: view?.name || id,
                title: ev.task?.title || '' }) : undefined;
            load(news);
        }
    }));
    load();
    return node;
}
