// verify.js -- the public page that checks a service certificate
// (#/verify?code=CODE&city=CITY; a certificate's QR code links to
// public-url + "?verify=CODE&city=CITY", which the shell turns into
// this). For whoever holds a certificate in their hand (a school, an
// employer), signed in or not: certificate.verify works before hello.
// It says in large words whether the certificate is genuine and, if so,
// what it certifies (docs/protocol.md, "Service certificates"); a form
// checks a code typed by hand. A chunk of its own (verifyLazy.js stands
// in for it in the first load).
import { addWords, t } from '../i18n/index.js';
import verifyEn from '../i18n/verify.lazy.en.js';
import verifyZh from '../i18n/verify.lazy.zh-CN.js';
import { anyError } from '../lib/errors.js';
import { go } from '../lib/router.js';
import { formatCityTime } from '../lib/time.js';
import { field, h } from '../ui/dom.js';
import './verify.css';

addWords(verifyZh, verifyEn);

const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);

export function verifyPage(ctx, query) {
    const city = String(query.city || ctx.config?.city || 'jinan');
    const code = String(query.code || '').trim();
    const result = h('div', { class: 'verdict-box', 'aria-live': 'polite' });
    const f = field({ label: t('verify.code'), name: 'code', value: code, hint: t('verify.codeHint'),
        attrs: { autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
            maxlength: 64, class: 'code-input' } });
    const form = h('form', { class: 'card verify-form', novalidate: true, onsubmit: (e) => {
        e.preventDefault();
        const c = f.input.value.trim();
        f.setError(null);
        if (!c) {
            f.setError(t('verify.empty'));
            f.input.focus();
            return;
        }
        const next = `#/verify?code=${encodeURIComponent(c)}&city=${encodeURIComponent(city)}`;
        if (location.hash === next) check(c);
        else go(next);
    } }, f.row, h('button', { type: 'submit', class: 'primary wide-button' }, t('verify.send')));

    function facts(r) {
        const tz = ctx.tz();
        const rows = [
            [t('verify.name'), r.name],
            // each date whole on its line
            [t('verify.period'), [h('span', { class: 'nowrap' }, r.from), ` ${t('verify.to')} `,
                h('span', { class: 'nowrap' }, r.to)]],
            [t('verify.tasks'), t('verify.tasksVal', { n: r.tasks })],
            [t('verify.hours'), t('verify.hoursVal', { hours: num(r.hours) })],
            [t('verify.points'), num(r.points)],
            [t('verify.issuer'), r.issuer],
            [t('verify.no'), r.no],
            [t('verify.issued'), formatCityTime(r.issued_at, tz, { time: false })],
        ];
        return h('dl', { class: 'verdict-facts' },
            rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, Array.isArray(v) ? v : String(v ?? '')))));
    }

    async function check(c) {
        result.replaceChildren(h('p', { class: 'lead', role: 'status' }, t('verify.checking')));
        try {
            const r = await ctx.client.call('certificate.verify', { city, code: c });
            if (r && r.genuine) {
                result.replaceChildren(h('section', { class: 'card verdict ok' },
                    h('p', { class: 'verdict-word' }, h('span', { 'aria-hidden': 'true' }, '✓ '),
                        t('verify.genuine')),
                    h('p', null, t('verify.genuineText', { issuer: r.issuer })),
                    facts(r)));
            } else {
                result.replaceChildren(h('section', { class: 'card verdict bad' },
                    h('p', { class: 'verdict-word' }, h('span', { 'aria-hidden': 'true' }, '✗ '),
                        t('verify.forged')),
                    h('p', null, t('verify.forgedText', { code: c }))));
            }
        } catch (e) {
            result.replaceChildren(h('p', { class: 'notice', role: 'alert' }, anyError(e)));
        }
    }

    if (code) check(code);
    return h('div', { class: 'verify' },
        h('section', { class: 'card' }, h('h1', null, t('verify.title')),
            h('p', { class: 'lead' }, t('verify.intro'))),
        result, form);
}
