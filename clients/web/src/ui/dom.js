// dom.js -- the apps' tiny view layer: h() builds DOM nodes, mount()
// puts a page's nodes in place. No virtual DOM: a page renders its nodes
// once and changes what changes (or renders again; pages are small).
//
//   h('button', { class: 'primary', onclick: go, 'aria-label': t('x') },
//     t('login.submit'))
//
// props: `class`, `for`, `on<event>` (a listener), `aria-*`/`data-*`
// and other attributes (true: present, false/null/undefined: absent),
// `value`, `checked`, `disabled`, `hidden` set as properties. Children:
// strings, numbers, nodes, arrays, and null/false/undefined (skipped).
// Never sets innerHTML: every text is a text node, so nothing a server
// or a person sent can become markup.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected',
    'required', 'readOnly', 'multiple', 'tabIndex']);

export function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
        if (k.startsWith('on') && typeof v === 'function') {
            el.addEventListener(k.slice(2).toLowerCase(), v);
        } else if (k === 'class') {
            if (v) el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
        } else if (k === 'for') {
            el.htmlFor = v;
        } else if (PROPS.has(k)) {
            el[k] = v;
        } else if (v === true) {
            el.setAttribute(k, '');
        } else if (v !== false && v !== null && v !== undefined) {
            el.setAttribute(k, String(v));
        }
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else el.append(c instanceof Node ? c : String(c));
    }
}

/** Replaces the children of parent with nodes. */
export function mount(parent, ...nodes) {
    parent.replaceChildren();
    append(parent, nodes);
}

let seq = 0;
/** A fresh id for label/for and aria-describedby pairs. */
export function uid(prefix = 'f') {
    seq += 1;
    return `${prefix}-${seq}`;
}

/**
 * A labelled form field: label, the control, an optional hint and an
 * error line tied to the control by aria-describedby. Returns {row,
 * input, setError(text|null)}.
 */
export function field({ label, type = 'text', name, value = '', hint,
    autocomplete, required = false, inputmode, attrs = {} }) {
    const id = uid(name || 'f');
    const hintId = hint ? `${id}-hint` : null;
    const errId = `${id}-err`;
    const input = h('input', { id, name, type, value, autocomplete, required,
        inputmode, 'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
        ...attrs });
    const err = h('p', { class: 'field-error', id: errId, hidden: true });
    const row = h('div', { class: 'field' },
        h('label', { for: id }, label, required ? null
            : h('span', { class: 'optional' }, '')),
        hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
        input, err);
    return {
        row,
        input,
        setError(text) {
            err.textContent = text || '';
            err.hidden = !text;
            if (text) input.setAttribute('aria-invalid', 'true');
            else input.removeAttribute('aria-invalid');
        },
    };
}
