// The password reset page: #/reset?code=CODE (the link account.reset
// makes, public-url + "?reset=CODE", lands here; see lib/router.js), or
// #/reset to type the code. City, the code, the new password twice ->
// auth.reset (before hello), then signed in as with a log-in: the
// account's other sessions end. Refusals in words: a code unknown,
// used or expired, a disabled account, a password too short.
import { t } from '../i18n/index.js';
import { anyError, loginError } from '../lib/errors.js';
import { field, h } from '../ui/dom.js';
import { CITY_RE, bytes, form } from './forms.js';

/** The words for auth.reset's refusal. */
export function resetError(e) {
    if (e.code === 'NOT_FOUND') return t('reset.badCode');
    if (e.code === 'BAD_REQUEST' && /password/.test(e.message || '')) {
        return t('signup.shortPassword');
    }
    if (e.code === 'FORBIDDEN' || e.code === 'RATE_LIMITED') return loginError(e);
    return anyError(e);
}

export function resetPage(ctx, query) {
    const city = field({ label: t('login.city'), name: 'city', hint: t('login.cityHint'),
        value: query.city || ctx.config.city || 'jinan', required: true,
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const code = field({ label: t('reset.code'), name: 'code', value: (query.code || '').trim(),
        hint: t('reset.codeHint'), required: true, autocomplete: 'one-time-code',
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const pw = field({ label: t('reset.password'), name: 'new-password', type: 'password',
        hint: t('signup.passwordHint'), required: true, autocomplete: 'new-password' });
    const pw2 = field({ label: t('reset.password2'), name: 'new-password-2',
        type: 'password', required: true, autocomplete: 'new-password' });
    const fields = [city, code, pw, pw2];

    const f = form({
        fields,
        label: t('reset.submit'),
        busyLabel: t('reset.busy'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const v = {
                city: city.input.value.trim().toLowerCase(),
                code: code.input.value.trim(),
                password: pw.input.value,
            };
            const checks = [
                [city, !CITY_RE.test(v.city), t('login.cityHint')],
                [code, !v.code, t('reset.noCode')],
                [pw, bytes(v.password) < 8 || bytes(v.password) > 256, t('signup.shortPassword')],
                [pw2, pw2.input.value !== v.password, t('signup.mismatch')],
            ];
            const bad = checks.filter(([, b]) => b);
            for (const [fl, , msg] of bad) fl.setError(msg);
            if (bad.length) {
                bad[0][0].input.focus();
                return;
            }
            let result;
            try {
                result = await ctx.client.call('auth.reset', v, { timeoutMs: 15000 });
            } catch (e) {
                throw resetError(e);
            }
            pw.input.value = pw2.input.value = '';
            try {
                await ctx.signIn(v.city, result);
            } catch (e) {
                throw anyError(e);
            }
        },
        extra: [h('p', { class: 'aside' }, t('reset.remember'), ' ',
            h('a', { href: '#/login' }, t('signup.toLogin')))],
    });
    return h('section', { class: 'card narrow' },
        h('h1', null, t('reset.title')),
        h('p', null, t('reset.intro')),
        f.el);
}
