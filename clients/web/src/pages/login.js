// The log-in page (#/login): city, user name or phone, password ->
// auth.login (before hello). Refusals in words: a wrong name or
// password (one answer for both), a lock and until when in the city's
// time, a disabled account.
import { t } from '../i18n/index.js';
import { anyError, loginError } from '../lib/errors.js';
import { field, h } from '../ui/dom.js';
import { CITY_RE, PHONE_RE, form } from './forms.js';

export function loginPage(ctx) {
    const city = field({ label: t('login.city'), name: 'city', hint: t('login.cityHint'),
        value: ctx.config.city || 'jinan', autocomplete: 'off', required: true,
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const user = field({ label: t('login.user'), name: 'username', required: true,
        autocomplete: 'username', attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const password = field({ label: t('login.password'), name: 'password',
        type: 'password', required: true, autocomplete: 'current-password' });
    const fields = [city, user, password];

    const f = form({
        fields,
        label: t('login.submit'),
        busyLabel: t('login.busy'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const c = city.input.value.trim().toLowerCase();
            const u = user.input.value.trim();
            const p = password.input.value;
            let bad = false;
            if (!CITY_RE.test(c)) { city.setError(t('login.cityHint')); bad = true; }
            if (!u) { user.setError(t('login.user')); bad = true; }
            if (!p) { password.setError(t('login.password')); bad = true; }
            if (bad) {
                fields.find((x) => x.input.getAttribute('aria-invalid'))?.input.focus();
                return;
            }
            const params = { city: c, password: p };
            if (PHONE_RE.test(u)) params.phone = u;
            else params.user = u;
            let result;
            try {
                result = await ctx.client.call('auth.login', params, { timeoutMs: 15000 });
            } catch (e) {
                password.input.value = '';
                throw loginError(e);
            }
            password.input.value = '';
            try {
                await ctx.signIn(c, result);
            } catch (e) {
                throw anyError(e);
            }
        },
        extra: [h('p', { class: 'aside' }, t('login.noAccount'), ' ',
            h('a', { href: '#/signup' }, t('login.toSignup'))),
        h('p', { class: 'aside' }, t('login.forgot'), ' ',
            h('a', { href: '#/reset' }, t('login.toReset')))],
    });
    return h('section', { class: 'card narrow' },
        h('h1', null, t('login.title')),
        ctx.notice ? h('p', { class: 'notice', role: 'status' }, ctx.notice) : null,
        f.el);
}
