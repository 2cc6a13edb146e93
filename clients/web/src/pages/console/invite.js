// invite.js -- 注册招募: invites for volunteers and residents (and, for
// an admin, coordinators) of a scope (account.invite), shown as codes,
// links to the sign-up page and QR codes of the links. The QR code is
// drawn here as SVG from lean-qr's bitmap (a 3.5 KB chunk loaded the
// first time one is drawn).
import { t } from '../../i18n/index.js';
import { formatCityTime } from '../../lib/time.js';
import { field, h, uid } from '../../ui/dom.js';
import { form } from '../forms.js';
import { consoleError } from './errors.js';
import { inScope } from './model.js';

const SVG = 'http://www.w3.org/2000/svg';
const SCOPE_RE = /^[a-z0-9_-]+(\/[a-z0-9_-]+){0,3}$/;

/** An absolute sign-up link for account.invite's link ("?invite=..."
 * when public-url is unset). */
export function absoluteLink(link, loc = globalThis.location) {
    if (/^https?:\/\//.test(link)) return link;
    return `${loc.origin}${loc.pathname}${link.startsWith('?') ? link : `?${link.replace(/^.*\?/, '')}`}`;
}

async function qrSvg(text, label) {
    const { generate } = await import('lean-qr');
    const code = generate(text);
    const n = code.size;
    let d = '';
    for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) if (code.get(x, y)) d += `M${x + 4} ${y + 4}h1v1h-1z`;
    }
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${n + 8} ${n + 8}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    svg.setAttribute('class', 'qr');
    const bg = document.createElementNS(SVG, 'rect');
    bg.setAttribute('width', n + 8);
    bg.setAttribute('height', n + 8);
    bg.setAttribute('fill', '#fff');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', '#000');
    svg.append(bg, path);
    return svg;
}

function copyButton(text, label) {
    const b = h('button', { type: 'button', class: 'small secondary', 'aria-label': label,
        onclick: async () => {
            try {
                await navigator.clipboard.writeText(text);
                b.textContent = t('con.copied');
            } catch {
                b.textContent = t('con.copyFailed');
            }
            setTimeout(() => { b.textContent = t('con.copy'); }, 2000);
        } }, t('con.copy'));
    return b;
}

export function invitePanel({ client, role, root, scope, tz }) {
    const roles = role === 'admin' ? ['volunteer', 'resident', 'coordinator'] : ['volunteer', 'resident'];
    const roleId = uid('irole');
    const roleSel = h('select', { id: roleId, name: 'irole' },
        roles.map((r) => h('option', { value: r }, t(`role.${r}`))));
    const region = field({ label: t('con.f.inviteScope'), name: 'iscope', hint: t('con.f.inviteScopeHint'),
        required: true, value: scope(), attrs: { autocomplete: 'off', spellcheck: 'false' } });
    const count = field({ label: t('con.f.count'), name: 'icount', type: 'number', value: '1',
        attrs: { min: 1, max: 100, step: 1 } });
    const expId = uid('iexp');
    const exp = h('select', { id: expId, name: 'iexp' },
        [1, 7, 30].map((d) => h('option', { value: d * 86400, selected: d === 7 }, t('con.days', { n: d }))));
    const out = h('div', { class: 'invites', 'aria-live': 'polite' });
    const rows = [
        { row: h('div', { class: 'field' }, h('label', { for: roleId }, t('con.f.role')), roleSel), setError() {} },
        region, count,
        { row: h('div', { class: 'field' }, h('label', { for: expId }, t('con.f.expires')), exp), setError() {} },
    ];
    const f = form({
        fields: rows, label: t('con.inviteSubmit'), busyLabel: t('con.inviting'),
        async onSubmit() {
            region.setError(null);
            count.setError(null);
            const r = region.input.value.trim();
            const n = Number(count.input.value);
            if (!SCOPE_RE.test(r) || !inScope(r, root)) {
                region.setError(t('con.v.scope', { scope: root }));
                region.input.focus();
                throw t('con.v.fix');
            }
            if (!Number.isInteger(n) || n < 1 || n > 100) {
                count.setError(t('con.v.count'));
                count.input.focus();
                throw t('con.v.fix');
            }
            let res;
            try {
                res = await client.call('account.invite', { role: roleSel.value, region: r,
                    count: n, expires: Number(exp.value) });
            } catch (e) {
                throw consoleError(e, 'invite');
            }
            show(res);
        },
    });

    function show(res) {
        const list = h('ol', { class: 'codes' });
        out.replaceChildren(
            h('p', { class: 'notice' }, t('con.invited', { n: res.codes.length, role: t(`role.${res.role}`),
                region: res.region, until: formatCityTime(res.expires, tz()) })),
            list);
        res.codes.forEach((code, i) => {
            const link = absoluteLink(res.links?.[i] || `?invite=${code}`);
            const qr = h('div', { class: 'qrbox' });
            list.append(h('li', { class: 'invite' },
                h('div', { class: 'invite-text' },
                    h('p', null, h('span', { class: 'k' }, t('con.code')), ' ',
                        h('code', { class: 'code' }, code), ' ', copyButton(code, t('con.copyCode', { code }))),
                    h('p', null, h('span', { class: 'k' }, t('con.link')), ' ',
                        h('a', { href: link, class: 'link-text' }, link), ' ', copyButton(link, t('con.copyLink')))),
                qr));
            if (i < 10) {
                qrSvg(link, t('con.qr', { code })).then((svg) => qr.append(svg),
                    () => qr.append(h('p', { class: 'muted' }, t('con.qrFail'))));
            }
        });
    }

    return { el: h('section', { class: 'panel', 'aria-labelledby': 'invite-h' },
        h('h2', { id: 'invite-h' }, t('con.tool.invite')), f.el, out) };
}
