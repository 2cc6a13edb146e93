// controls.js -- the resident page's form controls beyond ui/dom.js's
// field(): a labelled <select>, a labelled <textarea>, and a group of
// big radio choices in a <fieldset>. Each has its hint and error line
// tied to it by aria-describedby, like field().
import { h, uid } from '../../ui/dom.js';

function parts(name, label, hint) {
    const id = uid(name || 'r');
    const hintId = hint ? `${id}-hint` : null;
    const errId = `${id}-err`;
    return {
        id,
        describedBy: [hintId, errId].filter(Boolean).join(' '),
        label: h('label', { for: id }, label),
        hint: hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
        err: h('p', { class: 'field-error', id: errId, hidden: true }),
    };
}

function errorSetter(control, err) {
    return (text) => {
        err.textContent = text || '';
        err.hidden = !text;
        if (text) control.setAttribute('aria-invalid', 'true');
        else control.removeAttribute('aria-invalid');
    };
}

/** A labelled <select> of options [{value, label}]. Returns {row,
 * select, setOptions(options, value), setError}. */
export function selectField({ name, label, hint, options = [], value, onchange }) {
    const p = parts(name, label, hint);
    const select = h('select', { id: p.id, name, 'aria-describedby': p.describedBy,
        onchange: () => onchange?.(select.value) });
    function setOptions(opts, v) {
        select.replaceChildren(...opts.map((o) => h('option', { value: o.value,
            disabled: !!o.disabled }, o.label)));
        if (v !== undefined && opts.some((o) => String(o.value) === String(v))) {
            select.value = String(v);
        }
    }
    setOptions(options, value);
    const row = h('div', { class: 'field' }, p.label, p.hint, select, p.err);
    return { row, select, setOptions, setError: errorSetter(select, p.err) };
}

/** A labelled <textarea>. Returns {row, input, setError}. */
export function textareaField({ name, label, hint, value = '', rows = 3, maxlength, oninput }) {
    const p = parts(name, label, hint);
    const input = h('textarea', { id: p.id, name, rows, maxlength,
        'aria-describedby': p.describedBy, oninput: () => oninput?.(input.value) });
    input.value = value;
    const row = h('div', { class: 'field' }, p.label, p.hint, input, p.err);
    return { row, input, setError: errorSetter(input, p.err) };
}

/** Big radio choices [{value, label}] in a fieldset with legend. Returns
 * {row, value(), set(v), inputs}. */
export function choices({ name, legend, options, value, onchange, cls = '' }) {
    const group = uid(name || 'c');
    const inputs = options.map((o) => h('input', { type: 'radio', name: group,
        value: o.value, checked: o.value === value,
        onchange: () => onchange?.(o.value) }));
    const row = h('fieldset', { class: ['choices', cls] },
        h('legend', null, legend),
        options.map((o, i) => h('label', { class: 'choice' }, inputs[i],
            h('span', null, o.label))));
    return {
        row,
        inputs,
        value: () => inputs.find((i) => i.checked)?.value ?? null,
        set(v) {
            for (const i of inputs) i.checked = i.value === v;
        },
    };
}

/** UTF-8 length of s (the protocol's limits are bytes). */
export const bytes = (s) => new TextEncoder().encode(s).length;
