// asking.js -- what the wish form and the menu's order form share: the
// when, where and note parts, the send button that keeps the request_id
// until a try succeeds (submit.js), and going home with a notice.
import { t } from '../../i18n/index.js';
import { go } from '../../lib/router.js';
import { h } from '../../ui/dom.js';
import { bytes, textareaField } from './controls.js';
import { createOnce } from './submit.js';
import { whenPicker } from './when.js';
import { wherePicker } from './where.js';
import { resError } from './words.js';

/** The place of the resident's newest task, for "same as last time"
 * (from the home's list, else asked now). */
export async function lastPlace(ctx, m) {
    if (m.lastPlace !== undefined) return m.lastPlace;
    try {
        const tasks = await ctx.client.call('wish.list');
        m.lastPlace = tasks.length ? { lon: tasks[0].lon, lat: tasks[0].lat } : null;
    } catch {
        return null;
    }
    return m.lastPlace;
}

/**
 * The parts of a form asking for help, on the draft d. Returns {when,
 * where, note, parts: [rows]}.
 */
export function askingParts(ctx, d) {
    const v = d.values;
    v.when = v.when || {};
    v.where = v.where || {};
    const when = whenPicker({ tz: ctx.tz(), values: v.when });
    const where = wherePicker({ values: v.where, last: null, config: ctx.config || {} });
    const note = textareaField({ name: 'note', label: t('res.new.note'),
        hint: t('res.new.noteHint'), value: v.note || '', rows: 3,
        oninput: (x) => { v.note = x; } });
    return { when, where, note, parts: [when.row, where.row, note.row] };
}

/**
 * A form of rows whose submit reads them (read() -> params or {error,
 * focus}) and creates with method, once (createOnce); on success notes
 * the task, forgets the draft and goes home with notice.
 */
export function askingForm(ctx, m, { draftName, d, rows, read, method, label, busyLabel, notice }) {
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const button = h('button', { type: 'submit', class: 'primary big' }, label);
    let tried = false;
    const el = h('form', { class: 'ask-form', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        if (button.disabled) return;
        error.hidden = true;
        const r = read();
        if (r.error) {
            error.textContent = r.error;
            error.hidden = false;
            r.focus?.focus();
            return;
        }
        button.disabled = true;
        button.textContent = busyLabel;
        try {
            const key = JSON.stringify(d.values); // the form as filled in
            const res = await createOnce(ctx.client, method, d, key, () => r.params);
            m.submitted.set(res.task_id, Math.floor(Date.now() / 1000));
            m.lastPlace = { lon: r.params.lon, lat: r.params.lat };
            m.drafts.delete(draftName);
            ctx.notice = notice;
            go('#/resident');
            return;
        } catch (err) {
            tried = true;
            error.textContent = resError(err);
            error.hidden = false;
            if (err?.code === 'CONFLICT' && /request_id/.test(err.message || '')) {
                // An earlier try went through: nothing more to send.
                m.drafts.delete(draftName);
            }
        }
        button.disabled = false;
        button.textContent = tried ? t('res.new.retry') : label;
    } }, rows, error, button);
    return el;
}

/** Checks a note's size; returns an error or null. */
export function noteError(note) {
    if (bytes(note.input.value) > 2000) {
        note.setError(t('res.new.tooLong'));
        return { error: t('res.new.tooLong'), focus: note.input };
    }
    note.setError(null);
    return null;
}
