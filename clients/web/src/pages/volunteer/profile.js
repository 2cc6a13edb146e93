// profile.js -- what offers need (volunteer.update): available on/off
// (saved at once), and in a form: skills from the city's catalogue, the
// home point (the phone's location, a pin on the map when the operator
// set map tiles, or typed), how far to go, and weekly
// slots in the city's time. The profile is read with an update of no
// fields, which changes nothing and answers the whole profile.
import { t } from '../../i18n/index.js';
import { getConfig } from '../../lib/config.js';
import { loadSkills, skillList } from '../../lib/skills.js';
import { h, uid } from '../../ui/dom.js';
import { geoError, herePosition } from './geo.js';
import { volError } from './format.js';

const RADII = [1000, 2000, 3000, 5000, 10000, 20000];
const list = (x) => (Array.isArray(x) ? x : []);

/** Today's weekday (0 = Sunday) in the city. */
export function cityWeekday(tz, now = Date.now()) {
    return new Date(now + tz * 60000).getUTCDay();
}

/** The availability switch: {node, paint(profile)}. */
export function availability(ctx, shared) {
    const id = uid('avail');
    const box = h('input', { type: 'checkbox', id, class: 'switch',
        'aria-describedby': `${id}-hint`,
        onchange: async () => {
            const want = box.checked;
            box.disabled = true;
            out.textContent = '';
            try {
                shared.setProfile(await ctx.client.call('volunteer.update', { available: want }));
            } catch (e) {
                box.checked = !want;
                out.textContent = volError(e);
            } finally {
                box.disabled = false;
            }
        } });
    const hint = h('p', { class: 'hint', id: `${id}-hint` });
    const out = h('p', { class: 'status-line', role: 'status' });
    const node = h('div', { class: 'avail' },
        h('div', { class: 'switch-row' }, box, h('label', { for: id }, t('vol.avail.label'))),
        hint, out);
    return {
        node,
        paint(p) {
            box.checked = !!p?.available;
            hint.textContent = p?.available ? t('vol.avail.onHint') : t('vol.avail.offHint');
        },
    };
}

/** The settings form (in a <details>, open until the profile is
 * complete): {node, paint(profile)}. */
export function profileForm(ctx, shared) {
    const skillsBox = h('div', { class: 'checks' });
    const lon = h('input', { type: 'text', inputmode: 'decimal', id: uid('lon'), autocomplete: 'off' });
    const lat = h('input', { type: 'text', inputmode: 'decimal', id: uid('lat'), autocomplete: 'off' });
    const homeSaid = h('p', { class: 'status-line', id: uid('home-said'), role: 'status' });
    const radius = h('select', { id: uid('radius') },
        RADII.map((r) => h('option', { value: String(r) }, t('vol.profile.radiusKm', { n: r / 1000 }))));
    const slots = h('div', { class: 'slots' });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const saved = h('p', { class: 'status-line', role: 'status' });
    const save = h('button', { type: 'submit', class: 'primary' }, t('vol.profile.save'));
    const details = h('details', { class: 'settings card' });

    const hereBtn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
        hereBtn.disabled = true;
        homeSaid.textContent = t('vol.geo.asking');
        try {
            const p = await herePosition();
            lon.value = String(p.lon);
            lat.value = String(p.lat);
            homeSaid.textContent = t('vol.profile.homeHere', { acc: Math.round(p.accuracy || 0) });
        } catch (e) {
            homeSaid.textContent = geoError(e);
        } finally {
            hereBtn.disabled = false;
        }
    } }, t('vol.profile.homeUseHere'));

    // A pin on the map: only with tiles to see by (lib/map.js pinMap).
    const pinBox = h('div', { class: 'map', hidden: true, role: 'region',
        'aria-label': t('vol.profile.homePinHint') });
    let pinned = null;
    const pinBtn = getConfig().tileUrl ? h('button', { type: 'button', class: 'secondary',
        onclick: async () => {
            pinBox.hidden = false;
            homeSaid.textContent = t('vol.profile.homePinHint');
            if (pinned) return;
            const at = { lon: Number(lon.value) || 117.061237, lat: Number(lat.value) || 36.671913 };
            try {
                const { pinMap } = await import('../../lib/map.js');
                pinned = await pinMap(pinBox, { at, onPick: (p) => {
                    lon.value = String(p.lon);
                    lat.value = String(p.lat);
                    homeSaid.textContent = t('vol.profile.homePinned');
                } });
            } catch {
                pinBox.hidden = true;
                homeSaid.textContent = t('vol.profile.homePinFailed');
            }
        } }, t('vol.profile.homePin')) : null;

    function slotRow(slot = [cityWeekday(ctx.tz()), '08:00', '20:00']) {
        const day = h('select', { 'aria-label': t('vol.profile.slotDay') },
            [1, 2, 3, 4, 5, 6, 0].map((d) => h('option', { value: String(d), selected: d === slot[0] },
                t(`vol.day.${d}`))));
        const from = h('input', { type: 'time', value: slot[1], 'aria-label': t('vol.profile.slotFrom'), required: true });
        const to = h('input', { type: 'time', value: slot[2] === '24:00' ? '00:00' : slot[2],
            'aria-label': t('vol.profile.slotTo'), required: true });
        const row = h('div', { class: 'slot' }, day, from, h('span', { 'aria-hidden': 'true' }, '–'), to,
            h('button', { type: 'button', class: 'link', onclick: () => row.remove() },
                t('vol.profile.slotRemove')));
        row.read = () => [Number(day.value), from.value, to.value === '00:00' ? '24:00' : to.value];
        return row;
    }

    const fsSkills = h('fieldset', null, h('legend', null, t('vol.profile.skills')), skillsBox);
    const homeHint = uid('home-hint');
    const fsHome = h('fieldset', { 'aria-describedby': homeHint },
        h('legend', null, t('vol.profile.home')),
        h('p', { class: 'hint', id: homeHint }, t('vol.profile.homeHint')),
        h('div', { class: 'buttons' }, hereBtn, pinBtn), homeSaid, pinBox,
        h('div', { class: 'pair' },
            h('div', { class: 'field' }, h('label', { for: lat.id }, t('vol.profile.lat')), lat),
            h('div', { class: 'field' }, h('label', { for: lon.id }, t('vol.profile.lon')), lon)));
    const fsSlots = h('fieldset', null, h('legend', null, t('vol.profile.slots')),
        h('p', { class: 'hint' }, t('vol.profile.slotsHint')), slots,
        h('button', { type: 'button', class: 'secondary', onclick: () => {
            const r = slotRow();
            slots.append(r);
            r.querySelector('select').focus();
        } }, t('vol.profile.slotAdd')));

    const form = h('form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        saved.textContent = '';
        const params = {
            skills: [...skillsBox.querySelectorAll('input:checked')].map((b) => b.value),
            radius: Number(radius.value),
            weekly: [...slots.children].map((r) => r.read()),
        };
        if (lon.value.trim() || lat.value.trim()) {
            const x = Number(lon.value);
            const y = Number(lat.value);
            if (!Number.isFinite(x) || !Number.isFinite(y) || !lon.value.trim() || !lat.value.trim()) {
                return fail(t('vol.profile.badPlace'), lat);
            }
            params.lon = x;
            params.lat = y;
        }
        for (const [, a, b] of params.weekly) {
            if (!a || !b || b <= a) return fail(t('vol.profile.badSlot'), slots.querySelector('input'));
        }
        save.disabled = true;
        try {
            shared.setProfile(await ctx.client.call('volunteer.update', params));
            saved.textContent = t('vol.profile.saved');
        } catch (e2) {
            fail(volError(e2), save);
        } finally {
            save.disabled = false;
        }
        return undefined;
    } }, fsSkills, fsHome,
    h('div', { class: 'field' }, h('label', { for: radius.id }, t('vol.profile.radius')), radius),
    fsSlots, err, save, saved);

    function fail(text, focus) {
        err.textContent = text;
        err.hidden = false;
        focus?.focus();
    }

    details.append(h('summary', null, t('vol.profile.title')), form);
    let painted = false;

    return {
        node: details,
        paint(p) {
            if (!p) return;
            if (!painted) details.open = !(list(p.skills).length && p.lon !== undefined);
            painted = true;
            const have = new Set(list(p.skills));
            skillsBox.replaceChildren(...skillList().map((s) => {
                const id = uid('sk');
                return h('div', { class: 'check' },
                    h('input', { type: 'checkbox', id, value: s.code, checked: have.has(s.code) }),
                    h('label', { for: id }, s.label));
            }));
            if (p.lon !== undefined) {
                lon.value = String(p.lon);
                lat.value = String(p.lat);
            }
            const r = RADII.includes(p.radius) ? p.radius
                : RADII.reduce((a, b) => (Math.abs(b - p.radius) < Math.abs(a - p.radius) ? b : a));
            radius.value = String(r);
            if (!RADII.includes(p.radius) && p.radius) {
                radius.append(h('option', { value: String(p.radius) },
                    t('vol.profile.radiusKm', { n: p.radius / 1000 })));
                radius.value = String(p.radius);
            }
            slots.replaceChildren(...list(p.weekly).map((s) => slotRow(s)));
        },
        load: () => loadSkills(ctx.client).catch(() => {}),
    };
}
