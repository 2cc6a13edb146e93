// actions.js -- what a coordinator does to a task of the queue: approve
// or reject a wish (wish.review), open the assign panel, cancel a task
// (task.cancel), link a centre's post to a project (projects.js). The
// row's buttons; their results are said in the
// console's status line, and the row changes when the queue event comes.
import { t } from '../../i18n/index.js';
import { h } from '../../ui/dom.js';
import { askReason } from './dialog.js';
import { consoleError } from './errors.js';

export function taskActions({ client, current, say, onAssign, onLink }) {
    async function review(id, approve, reason) {
        const params = { task_id: id, approve };
        if (reason) params.reason = reason;
        await client.call('wish.review', params);
    }

    return function actions(task) {
        const id = task.task_id;
        const title = () => (current(id) || task).title;
        const out = [];
        if (task.status === 'review') {
            out.push(h('button', { type: 'button', class: 'small primary',
                'aria-label': t('con.approveLabel', { title: task.title }),
                onclick: async (e) => {
                    const btn = e.currentTarget;
                    btn.disabled = true;
                    try {
                        await review(id, true);
                        say(t('con.approved', { title: title() }));
                    } catch (err) {
                        say(consoleError(err, 'review'), true);
                        btn.disabled = false;
                    }
                } }, t('con.approve')));
            out.push(h('button', { type: 'button', class: 'small secondary',
                'aria-label': t('con.rejectLabel', { title: task.title }),
                onclick: async () => {
                    const ok = await askReason({ title: t('con.rejectTitle'),
                        label: t('con.rejectReason'), submit: t('con.rejectSubmit'), required: true,
                        onSubmit: async (reason) => {
                            try {
                                await review(id, false, reason);
                            } catch (err) {
                                throw consoleError(err, 'review');
                            }
                        } });
                    if (ok) say(t('con.rejected', { title: title() }));
                } }, t('con.reject')));
        }
        if (task.status === 'open') {
            out.push(h('button', { type: 'button', class: 'small primary',
                'aria-label': t('con.assignLabel', { title: task.title }),
                onclick: () => onAssign(id) }, t('con.assign')));
        }
        // a centre's post not yet linked to a project may be (project.link)
        if ((task.status === 'open' || task.status === 'filled') && task.kind === 'post' && !task.project_id) {
            out.push(h('button', { type: 'button', class: 'small secondary',
                'aria-label': t('proj.con.linkLabel', { title: task.title }),
                onclick: () => onLink(id) }, t('proj.con.linkAction')));
        }
        if (task.status === 'open' || task.status === 'filled') {
            out.push(h('button', { type: 'button', class: 'small link',
                'aria-label': t('con.cancelTaskLabel', { title: task.title }),
                onclick: async () => {
                    const ok = await askReason({ title: t('con.cancelTitle'),
                        label: t('con.cancelReason'), submit: t('con.cancelSubmit'),
                        onSubmit: async (reason) => {
                            try {
                                await client.call('task.cancel', reason ? { task_id: id, reason } : { task_id: id });
                            } catch (err) {
                                throw consoleError(err, 'cancel');
                            }
                        } });
                    if (ok) say(t('con.cancelled', { title: title() }));
                } }, t('con.cancelTask')));
        }
        return out;
    };
}
