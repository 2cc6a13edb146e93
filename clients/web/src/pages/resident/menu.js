// menu.js -- #/resident?view=menu: the service menu (menu.list: what
// the centre posted for the resident's community and the scopes above
// it), and #/resident?view=menu&item=M1: booking one item (when, where,
// a note for the volunteer) -> menu.order, retry-safe (asking.js).
import { t } from '../../i18n/index.js';
import { skillLabel } from '../../lib/skills.js';
import { h } from '../../ui/dom.js';
import { askingForm, askingParts, lastPlace, noteError } from './asking.js';
import { draft } from './memory.js';
import { resError } from './words.js';

async function items(ctx, m) {
    if (!m.menu) m.menu = await ctx.client.call('menu.list');
    return m.menu;
}

function itemCard(item) {
    const hid = `item-${item.item_id}`;
    return h('li', { class: 'menu-item', 'aria-labelledby': hid },
        h('h2', { id: hid }, item.title),
        h('p', { class: 'tags' }, h('span', { class: 'tag plain' }, skillLabel(item.skill))),
        item.note ? h('p', null, item.note) : null,
        h('a', { class: 'bigbtn primary small', href: `#/resident?view=menu&item=${encodeURIComponent(item.item_id)}`,
            'aria-describedby': hid }, t('res.menu.order')));
}

export function menuView(ctx, m, query) {
    if (query.item) return orderView(ctx, m, query.item);
    const status = h('p', { class: 'muted', role: 'status' }, t('res.loading'));
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const list = h('ul', { class: 'menu' });
    m.menu = null; // fresh each visit
    items(ctx, m).then((all) => {
        status.textContent = all.length ? '' : t('res.menu.empty');
        list.replaceChildren(...all.map(itemCard));
    }, (e) => {
        status.textContent = '';
        error.textContent = resError(e);
        error.hidden = false;
    });
    const el = h('section', { class: 'resident' },
        h('p', { class: 'back' }, h('a', { href: '#/resident' }, '← ', t('res.back'))),
        h('h1', null, t('res.menu.title')),
        h('p', null, t('res.menu.intro')),
        status, error, list);
    return { el };
}

function orderView(ctx, m, itemId) {
    const name = `order:${itemId}`;
    const d = draft(m, name);
    const heading = h('h1', null, t('res.menu.orderTitle', { title: '…' }));
    const about = h('p', { class: 'tags' });
    const itemNote = h('p');
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const ask = askingParts(ctx, d);
    lastPlace(ctx, m).then((p) => { if (p) ask.where.setLast(p); });
    const holder = h('div');
    items(ctx, m).then((all) => {
        const item = all.find((x) => x.item_id === itemId);
        if (!item) {
            error.textContent = t('res.menu.gone');
            error.hidden = false;
            return;
        }
        heading.textContent = t('res.menu.orderTitle', { title: item.title });
        about.replaceChildren(h('span', { class: 'tag plain' }, skillLabel(item.skill)));
        itemNote.textContent = item.note || '';
        holder.replaceChildren(askingForm(ctx, m, { draftName: name, d, read,
            method: 'menu.order', rows: ask.parts, label: t('res.menu.submit'),
            busyLabel: t('res.menu.busy'), notice: t('res.ordered') }));
    }, (e) => {
        error.textContent = resError(e);
        error.hidden = false;
    });

    function read() {
        const w = ask.when.read();
        if (w.error) return w;
        const p = ask.where.read();
        if (p.error) return p;
        const n = noteError(ask.note);
        if (n) return n;
        const params = { item_id: itemId, lon: p.lon, lat: p.lat, start: w.start, end: w.end };
        const note = ask.note.input.value.trim();
        if (note) params.note = note;
        return { params };
    }

    const el = h('section', { class: 'resident' },
        h('p', { class: 'back' }, h('a', { href: '#/resident?view=menu' }, '← ', t('res.menu.back'))),
        heading, about, itemNote, error, holder);
    return { el };
}
