// shop.js -- the console's credit supermarket (积分超市), the station
// staff's side (its own chunk, through lazy.js): the items on the
// shelves of the watched scope and every scope above it (shop.list:
// name, price in points, stock, station), a price and stock edited
// (shop.item.edit), a new item shelved in the scope (shop.item.post; its
// request_id kept until it succeeds), and the desk: a receipt collected
// with the code its volunteer shows (shop.collect), or refunded after a
// confirm step (shop.refund: price and piece back). Staff never see a
// receipt's code: the volunteer tells it. docs/protocol.md, "Points, the
// ledger and the credit supermarket".
import './shop.css';
import { addWords, t } from '../../i18n/index.js';
import shopEn from '../../i18n/shop.lazy.en.js';
import shopZh from '../../i18n/shop.lazy.zh-CN.js';
import { field, h, uid } from '../../ui/dom.js';
import { askReason } from './dialog.js';
import { consoleError } from './errors.js';
import { regionName } from './regions.js';

addWords(shopZh, shopEn); // the shop's and the certificates' words, with this chunk

const PRICE_MAX = 100000;
const STOCK_MAX = 100000;
const RECEIPT_RE = /^R[0-9]{1,22}$/;
const CODE_RE = /^[0-9]{6}$/;
const newRequestId = () => `shop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** A whole number in lo..hi from the text s, else null. */
function whole(s, lo, hi) {
    const v = String(s).trim();
    if (!/^[0-9]+$/.test(v)) return null;
    const n = Number(v);
    return n >= lo && n <= hi ? n : null;
}

// shop.collect's and shop.refund's refusals in words.
function deskError(e) {
    const code = e && e.code;
    const msg = (e && e.message) || '';
    if (code === 'BAD_REQUEST' && /'code'/.test(msg)) return t('shop.err.code');
    if (code === 'BAD_REQUEST' && /receipt_id/.test(msg)) return t('shop.err.receiptForm');
    if (code === 'NOT_FOUND') return t('shop.err.noReceipt');
    if (code === 'CONFLICT') return t('shop.err.closed');
    if (code === 'FORBIDDEN') return t('shop.err.receiptScope');
    return consoleError(e);
}

// shop.item.post's and shop.item.edit's refusals in words.
function itemError(e) {
    if (e && e.code === 'FORBIDDEN') return t('shop.err.itemScope');
    if (e && e.code === 'NOT_FOUND') return t('shop.err.noItem');
    if (e && e.code === 'CONFLICT' && /request_id/.test(e.message || '')) return t('con.err.retry');
    return consoleError(e, 'post');
}

export function shopPanel({ client, scope, say }) {
    const info = h('p', { class: 'muted', role: 'status' });
    const list = h('ul', { class: 'people shop-list' });

    // ----------------------------------------- an item: price and stock
    function row(it) {
        const price = field({ label: t('shop.price'), name: `price-${it.item_id}`, value: String(it.price),
            attrs: { inputmode: 'numeric', autocomplete: 'off', size: 6 } });
        const stock = field({ label: t('shop.stock'), name: `stock-${it.item_id}`, value: String(it.stock),
            attrs: { inputmode: 'numeric', autocomplete: 'off', size: 6 } });
        const btn = h('button', { type: 'submit', class: 'small primary', 'aria-label': t('shop.saveBtn', { name: it.name }) },
            t('shop.save'));
        const form = h('form', { class: 'inline', novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            price.setError(null);
            stock.setError(null);
            const p = whole(price.input.value, 1, PRICE_MAX);
            const s = whole(stock.input.value, 0, STOCK_MAX);
            if (p === null) { price.setError(t('shop.badPrice')); price.input.focus(); return; }
            if (s === null) { stock.setError(t('shop.badStock')); stock.input.focus(); return; }
            btn.disabled = true;
            try {
                await client.call('shop.item.edit', { item_id: it.item_id, price: p, stock: s });
                say(t('shop.saved', { name: it.name, price: p, stock: s }));
                load();
            } catch (err) {
                say(itemError(err), true);
            } finally {
                btn.disabled = false;
            }
        } }, price.row, stock.row, btn);
        return h('li', { class: 'shop-row', 'data-item': it.item_id },
            h('span', { class: 'who' }, h('strong', null, it.name),
                h('span', { class: 'meta' }, t('shop.line', { price: it.price, stock: it.stock }), ' · ',
                    t('shop.at', { station: it.station }), ' · ', regionName(it.region, scope()))),
            it.note ? h('span', { class: 'meta' }, it.note) : null,
            form);
    }

    async function load() {
        info.textContent = t('con.searching');
        try {
            const r = await client.call('shop.list', { region: scope() });
            const items = Array.isArray(r) ? r : [];
            list.replaceChildren(...items.map(row));
            info.textContent = items.length ? t('shop.count', { n: items.length }) : t('shop.none');
        } catch (e) {
            info.textContent = consoleError(e, 'list');
        }
    }

    // ------------------------------------------------ a new item shelved
    let requestId = newRequestId();
    const name = field({ label: t('shop.name'), name: 'sname', attrs: { maxlength: 100 } });
    const price = field({ label: t('shop.price'), name: 'sprice', attrs: { inputmode: 'numeric', autocomplete: 'off' } });
    const stock = field({ label: t('shop.stock'), name: 'sstock', attrs: { inputmode: 'numeric', autocomplete: 'off' } });
    const station = field({ label: t('shop.station'), name: 'sstation', hint: t('shop.stationHint'),
        attrs: { maxlength: 200 } });
    const noteId = uid('snote');
    const note = h('textarea', { id: noteId, name: 'snote', rows: 2, maxlength: 500 });
    const postBtn = h('button', { type: 'submit', class: 'primary' }, t('shop.postBtn'));
    const postSaid = h('p', { class: 'muted', role: 'status' });
    const post = h('form', { class: 'shop-new', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        for (const f of [name, price, stock, station]) f.setError(null);
        const n = name.input.value.trim();
        const p = whole(price.input.value, 1, PRICE_MAX);
        const s = whole(stock.input.value, 0, STOCK_MAX);
        const st = station.input.value.trim();
        const bad = !n ? [name, t('shop.needName')] : p === null ? [price, t('shop.badPrice')]
            : s === null ? [stock, t('shop.badStock')] : !st ? [station, t('shop.needStation')] : null;
        if (bad) {
            bad[0].setError(bad[1]);
            bad[0].input.focus();
            return;
        }
        const params = { name: n, price: p, stock: s, station: st, region: scope(), request_id: requestId };
        const d = note.value.trim();
        if (d) params.note = d;
        postBtn.disabled = true;
        try {
            await client.call('shop.item.post', params);
            requestId = newRequestId();
            for (const f of [name, price, stock, station]) f.input.value = '';
            note.value = '';
            postSaid.textContent = t('shop.posted', { name: n });
            say(t('shop.posted', { name: n }));
            load();
        } catch (err) {
            postSaid.textContent = itemError(err);
        } finally {
            postBtn.disabled = false;
        }
    } },
    name.row, price.row, stock.row, station.row,
    h('div', { class: 'field' }, h('label', { for: noteId }, t('shop.note')), note),
    postBtn, postSaid);

    // -------------------------------------------------------- the desk
    const receipt = field({ label: t('shop.receipt'), name: 'rid',
        attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 24 } });
    const code = field({ label: t('shop.code'), name: 'rcode', attrs: { autocomplete: 'off', inputmode: 'numeric',
        maxlength: 16 } });
    const deskSaid = h('p', { class: 'muted', role: 'status' });
    const collectBtn = h('button', { type: 'submit', class: 'primary' }, t('shop.collectBtn'));
    const refundBtn = h('button', { type: 'button', class: 'secondary', onclick: () => refund() },
        t('shop.refundBtn'));

    /** The receipt id typed (R and digits, upper-cased), else null and said. */
    function receiptId() {
        receipt.setError(null);
        const id = receipt.input.value.trim().toUpperCase();
        if (RECEIPT_RE.test(id)) return id;
        receipt.setError(t('shop.err.receiptForm'));
        receipt.input.focus();
        return null;
    }

    const desk = h('form', { class: 'shop-desk', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        const id = receiptId();
        if (!id) return;
        code.setError(null);
        const c = code.input.value.trim();
        if (!CODE_RE.test(c)) {
            code.setError(t('shop.err.codeForm'));
            code.input.focus();
            return;
        }
        collectBtn.disabled = true;
        try {
            const r = await client.call('shop.collect', { receipt_id: id, code: c });
            receipt.input.value = '';
            code.input.value = '';
            deskSaid.textContent = t('shop.collected', { id, name: r.name, who: r.volunteer_id });
            say(deskSaid.textContent);
        } catch (err) {
            const words = deskError(err);
            const onCode = err && err.code === 'BAD_REQUEST' && /'code'/.test(err.message || '');
            (onCode ? code : receipt).setError(words);
            (onCode ? code : receipt).input.focus();
            deskSaid.textContent = words;
        } finally {
            collectBtn.disabled = false;
        }
    } }, h('div', { class: 'pair' }, receipt.row, code.row), h('div', { class: 'row-buttons' }, collectBtn, refundBtn), deskSaid);

    async function refund() {
        const id = receiptId();
        if (!id) return;
        let done = null;
        await askReason({ title: t('shop.refundSure', { id }), label: t('shop.refundReason'),
            submit: t('shop.refundConfirm'), onSubmit: async (reason) => {
                try {
                    done = await client.call('shop.refund', { receipt_id: id, ...(reason ? { reason } : {}) });
                } catch (err) {
                    throw deskError(err);
                }
            } });
        if (!done) return;
        receipt.input.value = '';
        code.input.value = '';
        deskSaid.textContent = t('shop.refunded', { id, name: done.name, who: done.volunteer_id, price: done.price });
        say(deskSaid.textContent);
        load();
    }

    const el = h('section', { class: 'panel', 'aria-labelledby': 'shop-h' },
        h('h2', { id: 'shop-h' }, t('shop.title')),
        h('h3', null, t('shop.desk')), h('p', { class: 'muted' }, t('shop.deskHint')), desk,
        h('h3', null, t('shop.items')), info, list,
        h('h3', null, t('shop.post')), post);
    return { el, load, show: load };
}
