// forms.js -- what the log-in and sign-up forms share: a form with a
// live error line, a submit button that says it is busy, and the checks
// a field can make before anything is sent.
import { h } from '../ui/dom.js';

export const USER_RE = /^[A-Za-z0-9_.@-]{1,128}$/;
export const PHONE_RE = /^\+?[0-9]{6,20}$/;
export const REGION4_RE = /^[a-z0-9_-]+(\/[a-z0-9_-]+){3}$/;
export const CITY_RE = /^[a-z0-9_-]{1,64}$/;

export const bytes = (s) => new TextEncoder().encode(s).length;

/**
 * A form of fields (from field()) and a submit button labelled label;
 * onSubmit(values) runs with the button busy (busyLabel) and the error
 * line cleared; what it throws (a string) is shown in the error line,
 * which is announced (role=alert).
 */
export function form({ fields, label, busyLabel, onSubmit, extra = [] }) {
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const button = h('button', { type: 'submit', class: 'primary' }, label);
    const el = h('form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        if (button.disabled) return;
        error.hidden = true;
        error.textContent = '';
        button.disabled = true;
        button.textContent = busyLabel;
        try {
            await onSubmit();
        } catch (msg) {
            error.textContent = typeof msg === 'string' ? msg : String(msg?.message || msg);
            error.hidden = false;
        } finally {
            button.disabled = false;
            button.textContent = label;
        }
    } }, fields.map((f) => f.row), error, button, extra);
    return { el, error };
}
