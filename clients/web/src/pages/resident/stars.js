// stars.js -- the star rating: five native radio buttons in a fieldset
// (arrow keys move between them, a screen reader says "4 stars: happy,
// 4 of 5"), drawn as big stars filled up to the choice, with the choice
// said in words beside them.
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';

/** Returns {row, value() -> 1..5 or 0, focus()}. */
export function starInput({ legend, value = 0, onchange = () => {} }) {
    const name = uid('stars');
    const said = h('p', { class: 'stars-said', 'aria-live': 'polite' });
    const labels = [];
    const inputs = [];
    for (let n = 1; n <= 5; n++) {
        const input = h('input', { type: 'radio', name, value: String(n), class: 'sr',
            checked: n === value, 'aria-label': t(`res.rate.star${n}`),
            onchange: () => { paint(); onchange(n); } });
        inputs.push(input);
        labels.push(h('label', { class: 'star', title: t(`res.rate.star${n}`) },
            input, h('span', { 'aria-hidden': 'true' }, '★')));
    }
    function current() {
        return Number(inputs.find((i) => i.checked)?.value || 0);
    }
    function paint() {
        const v = current();
        labels.forEach((l, i) => l.classList.toggle('on', i < v));
        said.textContent = v ? t('res.rate.picked', { label: t(`res.rate.star${v}`) })
            : t('res.rate.none');
    }
    paint();
    const row = h('fieldset', { class: 'stars' }, h('legend', null, legend),
        h('div', { class: 'star-row' }, labels), said);
    return { row, value: current, focus: () => (inputs.find((i) => i.checked) || inputs[0]).focus() };
}

/** Stars given, shown (text for readers, stars for eyes). */
export function starsShown(n) {
    return h('span', { class: 'stars-shown' },
        h('span', { 'aria-hidden': 'true' }, '★'.repeat(n), h('span', { class: 'off' }, '★'.repeat(5 - n))));
}
