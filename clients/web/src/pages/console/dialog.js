// dialog.js -- a modal <dialog> that asks for a reason (rejecting a
// wish, cancelling a task): the browser's own dialog keeps focus inside
// and Escape closes it; focus goes back where it was.
import { t } from '../../i18n/index.js';
import { field, h } from '../../ui/dom.js';

/** Resolves with once onSubmit(reason) succeeded, or null when closed.
 * onSubmit throws a string to show it. */
export function askReason({ title, label, submit, required = false, onSubmit }) {
    return new Promise((resolve) => {
        const back = document.activeElement;
        const f = field({ label, name: 'reason', attrs: { maxlength: 500 } });
        const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
        const ok = h('button', { type: 'submit', class: 'primary' }, submit);
        const no = h('button', { type: 'button', class: 'secondary', onclick: () => dlg.close() },
            t('con.back'));
        const form = h('form', { novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            const reason = f.input.value.trim();
            if (required && !reason) {
                f.setError(t('con.rejectReasonNeeded'));
                f.input.focus();
                return;
            }
            f.setError(null);
            ok.disabled = true;
            try {
                await onSubmit(reason);
                done = true;
                dlg.close();
            } catch (msg) {
                err.textContent = String(msg?.message || msg);
                err.hidden = false;
            } finally {
                ok.disabled = false;
            }
        } }, f.row, err, h('div', { class: 'row-buttons' }, ok, no));
        let done = false;
        const dlg = h('dialog', { class: 'ask', 'aria-labelledby': 'ask-h' },
            h('h2', { id: 'ask-h' }, title), form);
        dlg.addEventListener('close', () => {
            dlg.remove();
            back?.focus?.();
            resolve(done ? true : null);
        });
        document.body.append(dlg);
        dlg.showModal();
        f.input.focus();
    });
}
