// teams.js -- the console's volunteer teams (志愿团队) of the watched
// scope: the list (team.list, 50 a page), naming a leader of a team
// (team.leader), and a new team (team.create: name, about, skills,
// leaders; its request_id kept until it succeeds). Giving a task to a
// team is in the assign panel (teamDispatch below). docs/protocol.md,
// "Teams".
import { addWords, t } from '../../i18n/index.js';
import teamsEn from '../../i18n/teams.lazy.en.js';
import teamsZh from '../../i18n/teams.lazy.zh-CN.js';
import { skillLabel, skillList } from '../../lib/skills.js';
import { field, h, uid } from '../../ui/dom.js';
import { consoleError } from './errors.js';
import { regionName } from './regions.js';

addWords(teamsZh, teamsEn); // with the console's chunk (stats.js says team.con.team too)

const newRequestId = () => `team-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

// team.leader's and team.create's refusals (a leader named) in words.
function leaderError(e) {
    if (e && e.code === 'NOT_FOUND' && /volunteer/.test(e.message || '')) return t('team.con.leaderNone');
    if (e && e.code === 'BAD_REQUEST' && /leaders|volunteer_id/.test(e.message || '')) return t('team.con.leaderNone');
    if (e && e.code === 'FORBIDDEN' && /region/.test(e.message || '')) return t('team.con.leaderRegion');
    if (e && e.code === 'CONFLICT') return t('team.con.leaderFull');
    return consoleError(e, 'team');
}

/** The teams of the scope(), all pages up to `max`: [team summary]. */
export async function teamsOf(client, region, max = 200) {
    const out = [];
    let cursor;
    do {
        const r = await client.call('team.list', { region, limit: 50, ...(cursor ? { cursor } : {}) });
        out.push(...(r.teams || []));
        cursor = r.cursor;
    } while (cursor && out.length < max);
    return out;
}

export function teamsPanel({ client, scope, say }) {
    const info = h('p', { class: 'muted', role: 'status' });
    const list = h('ul', { class: 'people team-list' });

    function row(g) {
        const leaders = (g.leaders || []).map((l) => (l.name && l.name !== l.id ? `${l.name}（${l.id}）` : l.id));
        const f = field({ label: t('team.con.leaderField'), name: `lead-${g.team_id}`,
            attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 64 } });
        const btn = h('button', { type: 'submit', class: 'small primary' },
            t('team.con.leaderBtn', { name: g.name }));
        const form = h('form', { class: 'inline', novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            const who = f.input.value.trim();
            f.setError(null);
            if (!who) {
                f.setError(t('team.add.empty'));
                f.input.focus();
                return;
            }
            btn.disabled = true;
            try {
                await client.call('team.leader', { team_id: g.team_id, volunteer_id: who, leader: true });
                say(t('team.con.leaderDone', { who, name: g.name }));
                load();
            } catch (err) {
                f.setError(leaderError(err));
                f.input.focus();
            } finally {
                btn.disabled = false;
            }
        } }, f.row, btn);
        return h('li', { class: 'team-row', 'data-team': g.team_id },
            h('span', { class: 'who' }, h('strong', null, g.name),
                h('span', { class: 'meta' }, regionName(g.region, scope()), ' · ',
                    t('team.con.members', { n: g.members || 0 }), ' · ',
                    (g.skills || []).map((s) => skillLabel(s)).join('、'))),
            h('span', { class: 'meta' }, leaders.length ? t('team.con.leaders', { list: leaders.join('、') })
                : t('team.con.noLeader')),
            form);
    }

    async function load() {
        info.textContent = t('con.searching');
        try {
            const teams = await teamsOf(client, scope());
            list.replaceChildren(...teams.map(row));
            info.textContent = teams.length ? t('team.con.count', { n: teams.length }) : t('team.con.none');
        } catch (e) {
            info.textContent = consoleError(e, 'list');
        }
    }

    // ------------------------------------------------------ a new team
    let requestId = newRequestId();
    const name = field({ label: t('team.con.name'), name: 'tname', attrs: { maxlength: 64 } });
    const descId = uid('tdesc');
    const desc = h('textarea', { id: descId, name: 'tdesc', rows: 2, maxlength: 500 });
    const leadersF = field({ label: t('team.con.leadersField'), name: 'tleaders',
        attrs: { autocomplete: 'off', spellcheck: 'false' } });
    const skillErr = h('p', { class: 'field-error', id: uid('tskill-err'), hidden: true });
    const skillBox = h('fieldset', { class: 'skills-pick', 'aria-describedby': skillErr.id },
        h('legend', null, t('team.con.skills')),
        skillList().map((s) => h('label', { class: 'check' },
            h('input', { type: 'checkbox', name: 'tskill', value: s.code }), ' ', s.label)),
        skillErr);
    const createBtn = h('button', { type: 'submit', class: 'primary' }, t('team.con.createBtn'));
    const createSaid = h('p', { class: 'muted', role: 'status' });
    const create = h('form', { class: 'team-new', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        name.setError(null);
        leadersF.setError(null);
        skillErr.hidden = true;
        const n = name.input.value.trim();
        const skills = [...skillBox.querySelectorAll('input:checked')].map((x) => x.value);
        if (!n) {
            name.setError(t('team.con.needName'));
            name.input.focus();
            return;
        }
        if (!skills.length) {
            skillErr.textContent = t('team.con.needSkill');
            skillErr.hidden = false;
            skillBox.querySelector('input')?.focus();
            return;
        }
        const leaders = leadersF.input.value.split(/[\s,，、]+/).filter(Boolean);
        const params = { name: n, region: scope(), skills, leaders, request_id: requestId };
        const d = desc.value.trim();
        if (d) params.description = d;
        createBtn.disabled = true;
        try {
            await client.call('team.create', params);
            requestId = newRequestId();
            name.input.value = '';
            desc.value = '';
            leadersF.input.value = '';
            skillBox.querySelectorAll('input:checked').forEach((x) => { x.checked = false; });
            createSaid.textContent = t('team.con.created', { name: n });
            say(t('team.con.created', { name: n }));
            load();
        } catch (err) {
            if (leaders.length && /leader|volunteer|region/.test((err && err.message) || '')) {
                leadersF.setError(leaderError(err));
                leadersF.input.focus();
            } else {
                createSaid.textContent = consoleError(err, 'post');
            }
        } finally {
            createBtn.disabled = false;
        }
    } },
    name.row,
    h('div', { class: 'field' }, h('label', { for: descId }, t('team.con.desc')), desc),
    skillBox, leadersF.row, createBtn, createSaid);

    const el = h('section', { class: 'panel', 'aria-labelledby': 'teams-h' },
        h('h2', { id: 'teams-h' }, t('team.con.title')), info, list,
        h('h3', null, t('team.con.create')), create);
    return { el, load, show: load };
}

/** The assign panel's part that gives the picked task to a team of the
 * scope (task.assign {task_id, team_id, quantity}). */
export function teamDispatch({ client, scope, current, say }) {
    let taskId = null;
    const selId = uid('dteam');
    const sel = h('select', { id: selId, name: 'dteam' });
    const qty = field({ label: t('team.con.quantity'), name: 'dqty', type: 'number',
        attrs: { min: 1, max: 1000, step: 1, inputmode: 'numeric' } });
    const info = h('p', { class: 'muted', role: 'status' });
    const btn = h('button', { type: 'submit', class: 'primary', disabled: true }, t('team.con.dispatchBtn'));
    const el = h('form', { class: 'team-dispatch', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        const task = current(taskId);
        if (!task) { say(t('con.err.notFound'), true); return; }
        const n = Number(qty.input.value);
        qty.setError(null);
        if (!Number.isInteger(n) || n < 1 || n > 1000) {
            qty.setError(t('team.con.dispatchFull'));
            qty.input.focus();
            return;
        }
        const g = sel.selectedOptions[0];
        btn.disabled = true;
        try {
            const r = await client.call('task.assign', { task_id: task.task_id, team_id: sel.value, quantity: n });
            say(t('team.con.dispatched', { title: task.title, places: r.places, name: g ? g.textContent : sel.value }));
        } catch (err) {
            const msg = (err && err.message) || '';
            say(err && err.code === 'FORBIDDEN' && /serves|skill/.test(msg) ? t('team.con.dispatchForbidden')
                : err && err.code === 'CONFLICT' ? t('team.con.dispatchFull') : consoleError(err, 'assign'), true);
        } finally {
            btn.disabled = !taskId || !sel.value;
        }
    } },
    h('h3', null, t('team.con.dispatch')),
    h('div', { class: 'field' }, h('label', { for: selId }, t('team.con.team')), sel),
    qty.row, btn, info);

    async function fill(task) {
        info.textContent = t('con.searching');
        let teams = [];
        try {
            teams = await teamsOf(client, scope());
        } catch (e) {
            info.textContent = consoleError(e, 'list');
            return;
        }
        // The teams that can take it: their skills list the task's.
        const fit = task ? teams.filter((g) => (g.skills || []).includes(task.skill)) : teams;
        sel.replaceChildren(...fit.map((g) => h('option', { value: g.team_id }, g.name)));
        info.textContent = fit.length ? '' : t('team.con.noTeams');
        btn.disabled = !taskId || !fit.length;
    }

    return {
        el,
        /** The task picked in the queue: its free places by default. */
        pick(id) {
            taskId = id;
            const task = current(id);
            const free = task ? Math.max(1, (task.quantity || 1) - (task.filled || 0)) : 1;
            qty.input.value = String(free);
            fill(task);
        },
    };
}
