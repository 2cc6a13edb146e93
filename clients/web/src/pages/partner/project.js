// project.js -- one project on the partner's page (#/partner?project=P1):
// what it is (project.get: description, the money it wants, its period,
// its team, its linked tasks); when open, adopting it (adopt.js: a
// pledge in yuan, a confirm step, refusals in words); when it is the
// partner's own, its report (project.report {project_id}) as tiles.
// A way back to the partner's home first.
import { lang, t } from '../../i18n/index.js';
import { formatCityTime, formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { figureTiles, money, projectFacts, statusBadge } from '../projects/show.js';
import { adoptForm } from './adopt.js';
import { partnerError } from './words.js';

export function projectView(ctx, id) {
    const tz = ctx.tz();
    const me = ctx.login?.user;
    const title = h('h1', null, t('ptn.loading'));
    const said = h('p', { class: 'status-line', role: 'status', tabindex: '-1' });
    const head = h('section', { class: 'card' }, title, said);
    const body = h('div', { class: 'project-body' });
    const node = h('div', { class: 'partner-project' },
        h('p', null, h('a', { class: 'back', href: '#/partner' }, t('ptn.back'))), head, body);

    function tasksCard(pr) {
        const tasks = pr.tasks || [];
        return h('section', { class: 'card', 'aria-labelledby': 'ptasks-h' },
            h('h2', { id: 'ptasks-h' }, t('ptn.project.tasks')),
            tasks.length ? h('ul', { class: 'ptasks' }, tasks.map((x) => h('li', { 'data-task': x.task_id },
                h('span', { class: 'ttl' }, x.title),
                h('span', { class: 'meta' }, formatCityWhen(x.start, tz, lang()), ' · ',
                    t(`proj.task.${x.status}`)))))
                : h('p', { class: 'muted' }, t('ptn.project.noTasks')));
    }

    async function reportCard(pr) {
        let figures = pr.figures;
        try {
            figures = (await ctx.client.call('project.report', { project_id: pr.project_id })).figures;
        } catch { /* project.get's figures are the same counters */ }
        return h('section', { class: 'card report', 'aria-labelledby': 'prep-h' },
            h('div', { class: 'panel-head' }, h('h2', { id: 'prep-h' }, t('ptn.project.report')),
                h('button', { type: 'button', class: 'secondary print', onclick: () => window.print() },
                    t('ptn.print'))),
            h('p', { class: 'lead' }, t('ptn.project.mine', { money: money(pr.pledge),
                time: formatCityTime(pr.adopted_at, tz, { time: false }) })),
            pr.note ? h('p', { class: 'muted' }, t('ptn.project.note', { note: pr.note })) : null,
            figureTiles(figures, { pledged: pr.pledge }));
    }

    // said: {text, bad} to say above the project once it is read again
    // (an adoption made, or refused because it is no longer open)
    async function load(say = null) {
        let pr;
        try {
            pr = await ctx.client.call('project.get', { project_id: id });
        } catch (e) {
            title.textContent = t('partner.title');
            said.textContent = partnerError(e);
            said.classList.add('bad');
            body.replaceChildren();
            return;
        }
        const mine = pr.partner && pr.partner.id === me;
        title.replaceChildren(pr.title, ' ', statusBadge(pr));
        said.textContent = say ? say.text : '';
        said.classList.toggle('bad', Boolean(say && say.bad));
        const facts = [];
        if (pr.partner && !mine) facts.push([t('proj.partner'), t('proj.adoptedByOther', { name: pr.partner.name })]);
        const parts = [
            h('section', { class: 'card', 'aria-labelledby': 'pabout-h' },
                h('h2', { id: 'pabout-h' }, t('ptn.project.about')),
                h('p', { class: 'about' }, pr.description || t('ptn.project.noAbout')),
                projectFacts(pr, tz, facts)),
        ];
        if (mine) parts.unshift(await reportCard(pr));
        else if (pr.status === 'published' && !pr.ended) {
            parts.push(adoptForm(ctx, pr, {
                onAdopted: (text) => load({ text }),
                onGone: (text) => load({ text, bad: true }),
            }).el);
        } else if (pr.ended && pr.status === 'published') {
            parts.push(h('p', { class: 'notice' }, t('ptn.project.over')));
        }
        parts.push(tasksCard(pr));
        body.replaceChildren(...parts);
        if (say) said.focus();
    }

    load();
    return node;
}
