// assign.js -- manual dispatch (点单派单): the task picked in the queue,
// a search of the volunteers of the scope (account.list role=volunteer
// with q, a prefix of the id, name or phone, and skill, the task's by
// default), and a button per volunteer that calls task.assign; or the
// task given to a team (teams.js: teamDispatch). The queue shows the
// assignee when its event comes.
import { t } from '../../i18n/index.js';
import { skillLabel, skillList } from '../../lib/skills.js';
import { field, h, uid } from '../../ui/dom.js';
import { consoleError } from './errors.js';
import { regionName } from './regions.js';
import { teamDispatch } from './teams.js';

export function assignPanel({ client, scope, current, say }) {
    let taskId = null;
    let cursor = '';
    let seq = 0;
    const head = h('p', { class: 'lead' }, t('con.assignPick'));
    const q = field({ label: t('con.volSearch'), name: 'vq', hint: t('con.volSearchHint'),
        attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 64 } });
    const skillId = uid('vskill');
    const skill = h('select', { id: skillId, name: 'vskill' });
    const results = h('ul', { class: 'people', 'aria-live': 'off' });
    const info = h('p', { class: 'muted', role: 'status' });
    const more = h('button', { type: 'button', class: 'secondary', hidden: true,
        onclick: () => search(true) }, t('con.more'));
    const form = h('form', { class: 'search', role: 'search', novalidate: true,
        onsubmit: (e) => { e.preventDefault(); search(false); } },
    q.row,
    h('div', { class: 'field' }, h('label', { for: skillId }, t('con.volSkill')), skill),
    h('button', { type: 'submit', class: 'primary' }, t('con.search')));
    let timer = 0;
    q.input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => search(false), 300);
    });
    skill.addEventListener('change', () => search(false));

    function fillSkills(selected) {
        skill.replaceChildren(h('option', { value: '' }, t('con.anySkill')),
            ...skillList().map((s) => h('option', { value: s.code, selected: s.code === selected }, s.label)));
        skill.value = selected || '';
    }
    fillSkills('');

    async function search(next) {
        const mine = ++seq;
        const params = { role: 'volunteer', region: scope(), limit: 20 };
        const qv = q.input.value.trim();
        if (qv) params.q = qv;
        if (skill.value) params.skill = skill.value;
        if (next && cursor) params.cursor = cursor;
        info.textContent = t('con.searching');
        let res;
        try {
            res = await client.call('account.list', params);
        } catch (e) {
            if (mine === seq) info.textContent = consoleError(e, 'list');
            return;
        }
        if (mine !== seq) return;
        cursor = res.cursor || '';
        if (!next) results.replaceChildren();
        for (const a of res.accounts || []) results.append(person(a));
        more.hidden = !cursor;
        info.textContent = results.childElementCount
            ? t('con.volFound', { n: results.childElementCount }) : t('con.noVolunteers');
    }

    function person(a) {
        const name = a.name && a.name !== a.user ? `${a.name}（${a.user}）` : a.user;
        return h('li', { class: 'person-row' },
            h('span', { class: 'who' }, h('strong', null, name),
                h('span', { class: 'meta' }, regionName(a.region, scope()),
                    a.phone ? ` · ${a.phone}` : '',
                    a.status !== 'active' ? ` · ${t(`con.acct.${a.status}`)}` : '')),
            h('button', { type: 'button', class: 'small primary', disabled: !taskId,
                'aria-label': t('con.assignTo', { name }),
                onclick: async (e) => {
                    const btn = e.currentTarget;
                    const task = current(taskId);
                    if (!task) { say(t('con.err.notFound'), true); return; }
                    btn.disabled = true;
                    try {
                        await client.call('task.assign', { task_id: task.task_id, volunteer_id: a.user });
                        say(t('con.assigned', { title: task.title, name }));
                    } catch (err) {
                        say(consoleError(err, 'assign'), true);
                    } finally {
                        btn.disabled = false;
                    }
                } }, t('con.assignBtn')));
    }

    const toTeam = teamDispatch({ client, scope, current, say });
    const el = h('section', { class: 'panel', 'aria-labelledby': 'assign-h' },
        h('h2', { id: 'assign-h' }, t('con.tool.assign')), head, form, info, results, more,
        toTeam.el);
    return {
        el,
        /** The task to dispatch; searches its skill's volunteers. */
        pick(id) {
            taskId = id;
            const task = current(id);
            head.textContent = task ? t('con.assignFor', { title: task.title,
                skill: skillLabel(task.skill), places: `${task.filled || 0}/${task.quantity || 1}` })
                : t('con.assignPick');
            fillSkills(task ? task.skill : '');
            search(false);
            toTeam.pick(id);
        },
        focus() { q.input.focus(); },
    };
}
