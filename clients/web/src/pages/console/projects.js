// projects.js -- the console's projects (项目认领): the projects of the
// watched scope (project.list, all pages up to 200) with their state,
// partner and pledge, team and figures; naming a project's team
// (project.team); linking the task picked in the queue (a row's "归入
// 项目") to a project it fits (project.link); publishing a project
// (project.create: title, region, budget in yuan, first and last day in
// the city's time, about, team; its request_id kept until it succeeds).
// The region's adoption figures are in the stats panel (stats.js), the
// project_adopted event in the recent changes (index.js).
// docs/protocol.md, "Projects and caring partners".
import { lang, t } from '../../i18n/index.js';
import { formatCityTime, formatCityWhen, parseCityTime } from '../../lib/time.js';
import { field, h, uid } from '../../ui/dom.js';
import { bytes, form } from '../forms.js';
import { money, num, period, statusBadge } from '../projects/show.js';
import { consoleError } from './errors.js';
import { inScope } from './model.js';
import { regionName } from './regions.js';
import { teamsOf } from './teams.js';

const SCOPE_RE = /^[a-z0-9_-]+(\/[a-z0-9_-]+){0,3}$/;
const MONEY_MAX = 100000000;
const PERIOD_MAX = 366 * 86400;
const DAY = 86400;
const newRequestId = () => `proj-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** True when region a covers region b (is it, or above it). */
const covers = (a, b) => a === b || b.startsWith(`${a}/`);

/** The projects of region, all pages up to `max`: [project]. */
export async function projectsOf(client, region, max = 200) {
    const out = [];
    let cursor = '';
    do {
        const r = await client.call('project.list', { region, limit: 50, ...(cursor ? { cursor } : {}) });
        out.push(...(r.projects || []));
        cursor = r.cursor || '';
    } while (cursor && out.length < max);
    return out;
}

/** The projects a task may be linked to (protocol.md, "Linking a
 * task"): not ended, of a region covering the task's, its period
 * holding the task's start. */
export function projectsFor(projects, task) {
    if (!task) return [];
    return projects.filter((p) => !p.ended && covers(p.region, task.region)
        && task.start >= p.start && task.start <= p.end);
}

/** project.link's and project.team's refusals in words. */
export function projectError(e, action) {
    const msg = (e && e.message) || '';
    const code = e && e.code;
    if (code === 'CONFLICT') {
        if (/linked to project/.test(msg)) return t('proj.con.err.linked');
        if (/service confirmed/.test(msg)) return t('proj.con.err.served');
        if (/outside project .*period/.test(msg)) return t('proj.con.err.period');
        if (/ended/.test(msg)) return t('proj.con.err.ended');
        if (/not a post/.test(msg)) return t('proj.con.err.notPost');
        if (/^task \S+ is /.test(msg)) return t('proj.con.err.closed');
    }
    if (code === 'FORBIDDEN' && /task region/.test(msg)) return t('proj.con.err.region');
    if (code === 'FORBIDDEN' && /team/.test(msg)) return t('proj.con.teamRegion');
    return consoleError(e, action);
}

export function projectsPanel({ client, tz, root, scope, current, say, onLinked }) {
    const info = h('p', { class: 'muted', role: 'status' });
    const list = h('ul', { class: 'people proj-list' });
    let projects = [];
    let teams = [];

    // ------------------------------------------------- the list
    function teamForm(pr) {
        const selId = uid('pteam');
        const fit = teams.filter((g) => covers(g.region, pr.region) || covers(pr.region, g.region));
        const sel = h('select', { id: selId, name: `pteam-${pr.project_id}` },
            h('option', { value: '' }, t('proj.con.teamPick')),
            fit.map((g) => h('option', { value: g.team_id, selected: pr.team?.team_id === g.team_id }, g.name)));
        const btn = h('button', { type: 'submit', class: 'small primary', disabled: !fit.length },
            t('proj.con.teamBtn', { title: pr.title }));
        const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
        return h('form', { class: 'inline', novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            err.hidden = true;
            if (!sel.value) {
                err.textContent = fit.length ? t('proj.con.teamPick') : t('proj.con.teamNone');
                err.hidden = false;
                sel.focus();
                return;
            }
            btn.disabled = true;
            try {
                const r = await client.call('project.team', { project_id: pr.project_id, team_id: sel.value });
                say(t('proj.con.teamDone', { name: r.team?.name || sel.value, title: pr.title }));
                load();
            } catch (x) {
                err.textContent = projectError(x, 'team');
                err.hidden = false;
            } finally {
                btn.disabled = false;
            }
        } }, h('div', { class: 'field' }, h('label', { for: selId }, t('proj.con.teamField')), sel),
        btn, err, fit.length ? null : h('p', { class: 'muted' }, t('proj.con.teamNone')));
    }

    function row(pr) {
        const f = pr.figures || {};
        return h('li', { class: 'proj-row', 'data-project': pr.project_id },
            h('span', { class: 'who' }, h('strong', null, pr.title), ' ', statusBadge(pr),
                h('span', { class: 'meta' }, regionName(pr.region, scope()), ' · ', period(pr, tz())),
                h('span', { class: 'meta' }, t('proj.con.meta', { id: pr.project_id, money: money(pr.budget) }))),
            h('span', { class: 'meta pline' }, pr.partner
                ? t('proj.con.adopted', { name: pr.partner.name, money: money(pr.pledge) })
                : t('proj.con.open')),
            h('span', { class: 'meta' }, t('proj.con.teamLine', { team: pr.team ? pr.team.name : t('proj.noTeam') })),
            h('span', { class: 'meta' }, t('proj.con.served', { n: pr.linked || 0, hours: num(f.hours),
                services: f.services || 0 })),
            pr.ended ? null : teamForm(pr));
    }

    async function load() {
        info.textContent = t('con.searching');
        const region = scope();
        try {
            const [ps, gs] = await Promise.all([projectsOf(client, region),
                teamsOf(client, region).catch(() => [])]);
            if (region !== scope()) return;
            projects = ps;
            teams = gs;
            list.replaceChildren(...ps.map(row));
            info.textContent = ps.length ? t('proj.con.count', { n: ps.length }) : t('proj.con.none');
            paintLink();
            paintTeamChoice();
        } catch (e) {
            info.textContent = consoleError(e, 'list');
        }
    }

    // ------------------------------------------ linking the picked task
    let taskId = null;
    const linkHead = h('p', { class: 'lead pick', tabindex: '-1' }, t('proj.con.linkPick'));
    const linkSelId = uid('plink');
    const linkSel = h('select', { id: linkSelId, name: 'plink' });
    const linkErr = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const linkBtn = h('button', { type: 'submit', class: 'primary' }, t('proj.con.linkBtn'));
    const linkNone = h('p', { class: 'muted', hidden: true }, t('proj.con.linkNone'));
    const linkField = h('div', { class: 'field' }, h('label', { for: linkSelId }, t('proj.con.linkField')), linkSel);
    const linkForm = h('form', { class: 'proj-link', novalidate: true, hidden: true, onsubmit: async (e) => {
        e.preventDefault();
        const task = current(taskId);
        linkErr.hidden = true;
        if (!task || !linkSel.value) return;
        const pr = projects.find((p) => p.project_id === linkSel.value);
        linkBtn.disabled = true;
        try {
            await client.call('project.link', { project_id: linkSel.value, task_id: task.task_id });
            say(t('proj.con.linked', { title: task.title, project: pr ? pr.title : linkSel.value }));
            onLinked(task.task_id, linkSel.value);
            taskId = null;
            load();
        } catch (x) {
            linkErr.textContent = projectError(x, 'link');
            linkErr.hidden = false;
        } finally {
            linkBtn.disabled = false;
        }
    } }, linkField, linkBtn, linkErr);

    function paintLink() {
        const task = taskId ? current(taskId) : null;
        if (!task) {
            linkHead.textContent = t('proj.con.linkPick');
            linkForm.hidden = true;
            linkNone.hidden = true;
            return;
        }
        linkHead.textContent = t('proj.con.linkTask', { title: task.title, id: task.task_id,
            region: regionName(task.region, scope()), when: formatCityWhen(task.start, tz(), lang()) });
        const fit = projectsFor(projects, task);
        linkSel.replaceChildren(...fit.map((p) => h('option', { value: p.project_id },
            `${p.title}（${p.project_id}）`)));
        linkForm.hidden = !fit.length;
        linkNone.hidden = fit.length > 0;
        linkErr.hidden = true;
    }

    // ------------------------------------------------ a new project
    const ids = { current: newRequestId() };
    const today = () => formatCityTime(Math.floor(Date.now() / 1000), tz(), { time: false });
    const dayAfter = (n) => formatCityTime(Math.floor(Date.now() / 1000) + n * DAY, tz(), { time: false });
    const title = field({ label: t('proj.con.f.title'), name: 'ptitle', required: true, attrs: { maxlength: 200 } });
    const region = field({ label: t('proj.con.f.region'), name: 'pregion', hint: t('proj.con.f.regionHint'),
        required: true, value: scope(), attrs: { autocomplete: 'off', spellcheck: 'false' } });
    const budget = field({ label: t('proj.con.f.budget'), name: 'pbudget', inputmode: 'numeric', required: true,
        hint: t('proj.con.f.budgetHint'), attrs: { autocomplete: 'off', maxlength: 12 } });
    const start = field({ label: t('proj.con.f.start'), name: 'pstart', type: 'date', required: true, value: today() });
    const end = field({ label: t('proj.con.f.end'), name: 'pend', type: 'date', required: true, value: dayAfter(90) });
    const descId = uid('pdesc');
    const desc = h('textarea', { id: descId, name: 'pdesc', rows: 3, maxlength: 2000 });
    const teamId = uid('pnteam');
    const teamSel = h('select', { id: teamId, name: 'pnteam' });
    function paintTeamChoice() {
        const keep = teamSel.value;
        teamSel.replaceChildren(h('option', { value: '' }, t('proj.con.f.noTeam')),
            ...teams.map((g) => h('option', { value: g.team_id }, g.name)));
        teamSel.value = teams.some((g) => g.team_id === keep) ? keep : '';
    }
    paintTeamChoice();
    const fields = [title, region, budget, start, end];
    const created = form({
        fields, label: t('proj.con.f.submit'), busyLabel: t('proj.con.f.busy'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const v = { title: title.input.value.trim(), region: region.input.value.trim(),
                budget: budget.input.value.replace(/\s+/g, '') };
            const s = parseCityTime(`${start.input.value}T00:00`, tz());
            const e = parseCityTime(`${end.input.value}T00:00`, tz()) + DAY - 1; // the last day, whole
            const bad = [];
            if (!v.title || bytes(v.title) > 200) bad.push([title, t('proj.con.v.title')]);
            if (!SCOPE_RE.test(v.region) || !inScope(v.region, root)) {
                bad.push([region, t('proj.con.v.region', { scope: root })]);
            }
            if (!/^\d{1,9}$/.test(v.budget) || Number(v.budget) > MONEY_MAX) bad.push([budget, t('proj.con.v.budget')]);
            if (!Number.isFinite(s)) bad.push([start, t('proj.con.v.date')]);
            if (!Number.isFinite(e)) bad.push([end, t('proj.con.v.date')]);
            else if (Number.isFinite(s) && (e <= s || e - s > PERIOD_MAX || e <= Date.now() / 1000)) {
                bad.push([end, t('proj.con.v.end')]);
            }
            if (bad.length) {
                for (const [fl, msg] of bad) fl.setError(msg);
                bad[0][0].input.focus();
                throw t('con.v.fix');
            }
            const params = { title: v.title, region: v.region, budget: Number(v.budget), start: s, end: e,
                request_id: ids.current };
            const d = desc.value.trim();
            if (d) params.description = d;
            if (teamSel.value) params.team_id = teamSel.value;
            let pr;
            try {
                pr = await client.call('project.create', params);
            } catch (x) {
                if (x && x.code === 'BAD_REQUEST' && /'end'/.test(x.message || '')) {
                    end.setError(t('proj.con.v.end'));
                    end.input.focus();
                    throw t('con.v.fix');
                }
                throw projectError(x, 'post');
            }
            ids.current = newRequestId();
            title.input.value = '';
            budget.input.value = '';
            desc.value = '';
            say(t('proj.con.published', { title: pr.title, id: pr.project_id }));
            load();
        },
    });
    // the description and the team go before the button
    created.el.insertBefore(h('div', { class: 'field' }, h('label', { for: descId }, t('proj.con.f.desc')), desc),
        created.error);
    created.el.insertBefore(h('div', { class: 'field' }, h('label', { for: teamId }, t('proj.con.f.team')), teamSel),
        created.error);

    const el = h('section', { class: 'panel', 'aria-labelledby': 'projects-h' },
        h('h2', { id: 'projects-h' }, t('proj.con.title')), info, list,
        h('h3', null, t('proj.con.link')), linkHead, linkNone, linkForm,
        h('h3', null, t('proj.con.create')), created.el);
    return {
        el,
        load,
        show() {
            if (!region.input.value) region.input.value = scope();
            load();
        },
        /** The task picked in the queue to link (a row's button). */
        pickTask(id) {
            taskId = id;
            paintLink();
            (linkForm.hidden ? linkHead : linkSel).focus?.();
        },
        /** The projects last read (for the post form's choice). */
        projects: () => projects,
    };
}
