// shop.js -- my points and the credit supermarket (积分超市): the balance,
// the latest ledger entries (what earned or spent each point), the items
// on the shelves of my region with a redeem button, and my receipts with
// the code to tell at the station (docs/protocol.md, "Points, the ledger
// and the credit supermarket"). Everything is read from the server on
// load and after each redemption: the balance is the ledger's, never a
// sum kept here.
import { lang, t } from '../../i18n/index.js';
import { formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { volError } from './format.js';

const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);
const LEDGER_SHOWN = 10;
const RECEIPTS_SHOWN = 10;

// A refusal of shop.redeem in words: the two a volunteer meets most.
function shopError(e, tz) {
    const msg = (e && e.message) || '';
    if (e && e.code === 'CONFLICT' && /out of stock/.test(msg)) return t('vol.shop.soldOut');
    if (e && e.code === 'CONFLICT' && /balance/.test(msg)) return t('vol.shop.short');
    return volError(e, tz);
}

export function shopSection(ctx, store) {
    const balance = h('p', { class: 'lead', id: 'shop-balance' });
    const said = h('p', { class: 'status-line', role: 'status' });
    const items = h('ul', { class: 'cards', 'aria-label': t('vol.shop.items') });
    const receipts = h('ul', { class: 'cards', 'aria-label': t('vol.shop.receipts') });
    const ledger = h('ol', { class: 'league', 'aria-label': t('vol.shop.ledger') });
    const node = h('section', { class: 'card', 'aria-labelledby': 'shop-h' },
        h('h2', { id: 'shop-h' }, t('vol.shop.title')), balance, said,
        h('h3', null, t('vol.shop.items')), items,
        h('h3', null, t('vol.shop.receipts')), receipts,
        h('h3', null, t('vol.shop.ledger')), ledger);
    const when = (at) => formatCityWhen(at, ctx.tz(), lang());

    function itemCard(it, have) {
        const out = h('p', { class: 'status-line', role: 'status' });
        const btn = h('button', { type: 'button', class: 'primary',
            disabled: it.stock < 1 || have < it.price, onclick: async () => {
                btn.disabled = true;
                out.textContent = t('vol.shop.redeeming');
                try {
                    const r = await ctx.client.call('shop.redeem', { item_id: it.item_id });
                    store.refreshMe();
                    // The shelves are painted afresh (this card too): the
                    // code is said in the section's own status line.
                    load(t('vol.shop.redeemed', { code: r.code, station: r.station }));
                } catch (e) {
                    out.textContent = shopError(e, ctx.tz());
                    btn.disabled = false;
                }
            } }, t('vol.shop.redeem'));
        return h('li', { 'data-item': it.item_id },
            h('h3', null, it.name),
            h('p', null, t('vol.shop.price', { price: num(it.price), stock: it.stock })),
            h('p', { class: 'muted' }, t('vol.shop.station', { station: it.station })),
            btn, out);
    }

    function receiptCard(r) {
        return h('li', { 'data-receipt': r.receipt_id },
            h('p', null, r.name, ' · ', t(`vol.shop.st.${r.status}`) || r.status),
            r.status === 'held' ? h('p', { class: 'lead code' },
                t('vol.shop.code', { code: r.code })) : null,
            h('p', { class: 'muted' }, when(r.at), ' · ', r.station));
    }

    function entryLine(e) {
        const what = e.reason === 'confirm' ? t('vol.shop.for.confirm', { task: e.task_id })
            : t(`vol.shop.for.${e.reason}`, { receipt: e.receipt_id });
        return h('li', null, `${e.points > 0 ? '+' : ''}${num(e.points)} · ${what} · ${when(e.at)}`);
    }

    async function load(keep) {
        said.textContent = keep || t('vol.shop.loading');
        try {
            const [l, list, rs] = await Promise.all([
                ctx.client.call('ledger.list', { limit: LEDGER_SHOWN }),
                ctx.client.call('shop.list', {}),
                ctx.client.call('shop.receipts', { limit: RECEIPTS_SHOWN }),
            ]);
            balance.textContent = t('vol.shop.balance', { points: num(l.balance) });
            const shelf = Array.isArray(list) ? list : [];
            items.replaceChildren(...shelf.map((it) => itemCard(it, Number(l.balance) || 0)));
            receipts.replaceChildren(...(rs.receipts || []).map(receiptCard));
            ledger.replaceChildren(...(l.entries || []).map(entryLine));
            said.textContent = keep || (shelf.length ? '' : t('vol.shop.empty'));
        } catch (e) {
            said.textContent = volError(e, ctx.tz());
        }
    }
    return { node, load };
}
