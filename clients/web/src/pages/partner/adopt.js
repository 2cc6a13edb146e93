// adopt.js -- adopting a project (project.adopt): the pledge in whole
// yuan (1 to 100 000 000, checked before anything is sent) and a note,
// then a confirm step that says in one sentence who adopts what for how
// much (an adoption cannot be taken back), then the call. A refusal is
// said in words: a pledge out of range at its field; a project adopted
// by another partner meanwhile, or ended, by reading the project again
// with the reason on top (its form is gone: nothing left to do there).
import { t } from '../../i18n/index.js';
import { field, h, uid } from '../../ui/dom.js';
import { bytes } from '../forms.js';
import { money } from '../projects/show.js';
import { partnerError, partnerName } from './words.js';

const PLEDGE_MAX = 100000000;

/** The pledge typed ("50000", " 50 000 ") as whole yuan, or null. */
export function readPledge(text) {
    const s = String(text || '').replace(/\s+/g, '');
    if (!/^\d{1,9}$/.test(s)) return null;
    const n = Number(s);
    return n >= 1 && n <= PLEDGE_MAX ? n : null;
}

/** The form for project pr. onAdopted(text) after the adoption,
 * onGone(text) when the project can no longer be adopted. Returns {el}. */
export function adoptForm(ctx, pr, { onAdopted, onGone }) {
    const name = partnerName(ctx);
    const pledge = field({ label: t('ptn.adopt.pledge'), name: 'pledge', inputmode: 'numeric',
        hint: t('ptn.adopt.pledgeHint', { money: money(pr.budget) }),
        attrs: { autocomplete: 'off', maxlength: 12, class: 'money-input' } });
    const noteId = uid('pnote');
    const note = h('textarea', { id: noteId, name: 'pnote', rows: 2, maxlength: 500 });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const next = h('button', { type: 'submit', class: 'primary' }, t('ptn.adopt.next'));

    const sure = h('p', { class: 'lead' });
    const yes = h('button', { type: 'button', class: 'primary', onclick: () => adopt() }, t('ptn.adopt.confirm'));
    const back = h('button', { type: 'button', class: 'secondary', onclick: () => edit() }, t('ptn.adopt.change'));
    const confirmBox = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'pconfirm-h', hidden: true },
        h('h3', { id: 'pconfirm-h', tabindex: '-1' }, t('ptn.adopt.confirmTitle')), sure,
        h('div', { class: 'actions' }, yes, back));

    let wanted = null; // {pledge, note} awaiting the confirm step
    const form = h('form', { class: 'adopt-form', novalidate: true, onsubmit: (e) => {
        e.preventDefault();
        pledge.setError(null);
        error.hidden = true;
        const n = readPledge(pledge.input.value);
        if (n === null) {
            pledge.setError(t('ptn.adopt.badPledge'));
            pledge.input.focus();
            return;
        }
        const text = note.value.trim();
        if (bytes(text) > 500) {
            error.textContent = t('ptn.adopt.longNote');
            error.hidden = false;
            note.focus();
            return;
        }
        wanted = { pledge: n, note: text };
        sure.textContent = t('ptn.adopt.confirmText', { name, title: pr.title, money: money(n) });
        form.hidden = true;
        confirmBox.hidden = false;
        confirmBox.querySelector('h3').focus();
    } },
    pledge.row,
    h('div', { class: 'field' }, h('label', { for: noteId }, t('ptn.adopt.note')), note),
    error, next);

    function edit() {
        confirmBox.hidden = true;
        form.hidden = false;
        pledge.input.focus();
    }

    async function adopt() {
        if (!wanted) return;
        yes.disabled = true;
        back.disabled = true;
        yes.textContent = t('ptn.adopt.busy');
        const params = { project_id: pr.project_id, pledge: wanted.pledge };
        if (wanted.note) params.note = wanted.note;
        try {
            await ctx.client.call('project.adopt', params);
            onAdopted(t('ptn.adopt.done', { name }));
            return;
        } catch (e) {
            const words = partnerError(e);
            if (e && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND')
                && !/at most/.test(e.message || '')) {
                onGone(words);
                return;
            }
            edit();
            if (e && e.code === 'BAD_REQUEST' && /'pledge'/.test(e.message || '')) pledge.setError(words);
            else {
                error.textContent = words;
                error.hidden = false;
            }
        } finally {
            yes.disabled = false;
            back.disabled = false;
            yes.textContent = t('ptn.adopt.confirm');
        }
    }

    return {
        el: h('section', { class: 'card adopt', 'aria-labelledby': 'padopt-h' },
            h('h2', { id: 'padopt-h' }, t('ptn.adopt.title')),
            h('p', null, t('ptn.adopt.intro')), form, confirmBox),
    };
}
