// offers.js -- the offers made to me, live: each with what, when, where
// (coarse), a countdown to its expires_at, accept, and decline with an
// optional reason. offer_withdrawn (the store) takes one away.
import { t } from '../../i18n/index.js';
import { h, uid } from '../../ui/dom.js';
import { taskLines, volError } from './format.js';

/** "9:41" left of an offer (mm:ss), "0:00" once lapsed. */
export function countdown(expiresAt, now = Date.now()) {
    const s = Math.max(0, Math.floor(expiresAt - now / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function offersSection(ctx, store) {
    const list = h('ul', { class: 'cards', 'aria-labelledby': 'offers-h' });
    const empty = h('p', { class: 'muted' }, t('vol.offers.none'));
    const node = h('section', { class: 'card', 'aria-labelledby': 'offers-h' },
        h('h2', { id: 'offers-h' }, t('vol.offers.title')), empty, list);
    const shown = new Map(); // offer_id -> {li, clock}

    function card(o) {
        const task = o.task || {};
        const clock = h('span', { class: 'clock' });
        const said = h('p', { class: 'status-line', role: 'status' });
        const reasonId = uid('reason');
        const reason = h('input', { type: 'text', id: reasonId, maxlength: 200, autocomplete: 'off' });
        const declineBox = h('div', { class: 'decline', hidden: true },
            h('div', { class: 'field' }, h('label', { for: reasonId }, t('vol.offers.reason')), reason),
            h('div', { class: 'actions' },
                h('button', { type: 'button', class: 'secondary', onclick: () => decline() },
                    t('vol.offers.declineSend')),
                h('button', { type: 'button', class: 'link', onclick: () => {
                    declineBox.hidden = true;
                    declineBtn.hidden = false;
                    declineBtn.focus();
                } }, t('vol.offers.keep'))));
        const accept = h('button', { type: 'button', class: 'primary', onclick: async () => {
            busy(true);
            said.textContent = t('vol.offers.accepting');
            try {
                store.putAssignment(await ctx.client.call('offer.accept', { offer_id: o.offer_id }));
                store.refreshMe();
            } catch (e) {
                said.textContent = volError(e);
                if (e.code === 'CONFLICT' || e.code === 'NOT_FOUND') {
                    setTimeout(() => store.dropOffer(o.offer_id), 4000);
                }
                busy(false);
            }
        } }, t('vol.offers.accept'));
        const declineBtn = h('button', { type: 'button', class: 'secondary', onclick: () => {
            declineBtn.hidden = true;
            declineBox.hidden = false;
            reason.focus();
        } }, t('vol.offers.decline'));
        function busy(on) {
            accept.disabled = on;
            declineBtn.disabled = on;
        }
        async function decline() {
            busy(true);
            try {
                const params = { offer_id: o.offer_id };
                if (reason.value.trim()) params.reason = reason.value.trim();
                await ctx.client.call('offer.decline', params);
                store.dropOffer(o.offer_id);
                announce(t('vol.offers.declined'));
            } catch (e) {
                said.textContent = volError(e);
                busy(false);
            }
        }
        const titleId = uid('offer');
        const li = h('li', { class: 'offer', 'aria-labelledby': titleId, 'data-offer': o.offer_id },
            h('h3', { id: titleId }, task.title || task.task_id || ''),
            h('p', { class: 'clock-line' }, t('vol.offers.left'), ' ', clock),
            taskLines(task, ctx.tz(), { distance: task.distance }),
            h('div', { class: 'actions' }, accept, declineBtn), declineBox, said);
        return { li, clock, o };
    }

    const gone = h('p', { class: 'status-line', role: 'status' });
    node.append(gone);
    let quiet = null;
    function announce(text) {
        gone.textContent = text;
        clearTimeout(quiet);
        quiet = setTimeout(() => { gone.textContent = ''; }, 8000);
    }

    function tick() {
        const now = Date.now();
        for (const [id, s] of shown) {
            s.clock.textContent = countdown(s.o.expires_at, now);
            if (s.o.expires_at * 1000 <= now) {
                store.dropOffer(id);
            }
        }
    }

    function paint() {
        const live = store.liveOffers();
        const ids = new Set(live.map((o) => o.offer_id));
        for (const [id, s] of shown) {
            if (!ids.has(id)) {
                s.li.remove();
                shown.delete(id);
            }
        }
        for (const o of live) {
            if (shown.has(o.offer_id) && shown.get(o.offer_id).o.task === o.task) continue;
            const c = card(o);
            const old = shown.get(o.offer_id);
            if (old) old.li.replaceWith(c.li);
            else list.append(c.li);
            shown.set(o.offer_id, c);
        }
        empty.hidden = live.length > 0;
        tick();
    }

    const timer = setInterval(tick, 1000);
    ctx.onLeave(() => {
        clearInterval(timer);
        clearTimeout(quiet);
    });
    return { node, paint };
}
