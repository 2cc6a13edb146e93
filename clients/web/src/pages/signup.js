// The sign-up page: #/signup?invite=CODE (from an invite link or QR
// code: the account gets the invite's role and region at once), or
// #/signup without one: an open sign-up as a volunteer of a community,
// pending until a coordinator approves. Both -> auth.signup (before
// hello), then signed in as with a log-in.
import { t } from '../i18n/index.js';
import { anyError } from '../lib/errors.js';
import { field, h } from '../ui/dom.js';
import { CITY_RE, PHONE_RE, REGION4_RE, USER_RE, bytes, form } from './forms.js';

/** The words for auth.signup's refusal. */
export function signupError(e) {
    const m = e.message || '';
    if (e.code === 'CONFLICT' && /phone/.test(m)) return t('signup.phoneTaken');
    if (e.code === 'CONFLICT') return t('signup.taken');
    if (e.code === 'NOT_FOUND') return t('signup.badInviteCode');
    if (e.code === 'FORBIDDEN' && /not open/.test(m)) return t('signup.notOpen');
    if (e.code === 'BAD_REQUEST') return t('err.other', { message: m });
    return anyError(e);
}

export function signupPage(ctx, query) {
    const invite = (query.invite || '').trim();
    const withInvite = invite !== '' || query.mode !== 'open';
    const city = field({ label: t('login.city'), name: 'city', hint: t('login.cityHint'),
        value: query.city || ctx.config.city || 'jinan', required: true,
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const code = field({ label: t('signup.invite'), name: 'invite', value: invite,
        hint: t('signup.inviteHint'), required: true,
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const region = field({ label: t('signup.region'), name: 'region',
        hint: t('signup.regionHint'), required: true,
        attrs: { autocapitalize: 'none', spellcheck: 'false' } });
    const user = field({ label: t('signup.user'), name: 'username', hint: t('signup.userHint'),
        required: true, autocomplete: 'username',
        attrs: { autocapitalize: 'none', spellcheck: 'false', maxlength: '128' } });
    const name = field({ label: t('signup.name'), name: 'name', required: true,
        autocomplete: 'name' });
    const pw = field({ label: t('signup.password'), name: 'new-password', type: 'password',
        hint: t('signup.passwordHint'), required: true, autocomplete: 'new-password' });
    const pw2 = field({ label: t('signup.password2'), name: 'new-password-2',
        type: 'password', required: true, autocomplete: 'new-password' });
    const phone = field({ label: t('signup.phone'), name: 'tel', type: 'tel',
        autocomplete: 'tel', inputmode: 'tel' });
    const fields = [city, withInvite ? code : region, user, name, pw, pw2, phone];

    const f = form({
        fields,
        label: t('signup.submit'),
        busyLabel: t('signup.busy'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const v = {
                city: city.input.value.trim().toLowerCase(),
                user: user.input.value.trim(),
                name: name.input.value.trim(),
                password: pw.input.value,
            };
            const ph = phone.input.value.replace(/[\s-]/g, '');
            const checks = [
                [city, !CITY_RE.test(v.city), t('login.cityHint')],
                withInvite ? [code, !code.input.value.trim(), t('signup.inviteHint')]
                    : [region, !REGION4_RE.test(region.input.value.trim()), t('signup.badRegion')],
                [user, !USER_RE.test(v.user), t('signup.badUser')],
                [name, !v.name || bytes(v.name) > 64, t('signup.badName')],
                [pw, bytes(v.password) < 8 || bytes(v.password) > 256, t('signup.shortPassword')],
                [pw2, pw2.input.value !== v.password, t('signup.mismatch')],
                [phone, ph !== '' && !PHONE_RE.test(ph), t('signup.badPhone')],
            ];
            let first = null;
            for (const [fl, bad, msg] of checks) {
                if (bad) {
                    fl.setError(msg);
                    first = first || fl;
                }
            }
            if (first) {
                first.input.focus();
                return;
            }
            if (withInvite) v.invite = code.input.value.trim();
            else v.region = region.input.value.trim();
            if (ph) v.phone = ph;
            let result;
            try {
                result = await ctx.client.call('auth.signup', v, { timeoutMs: 15000 });
            } catch (e) {
                throw signupError(e);
            }
            pw.input.value = pw2.input.value = '';
            try {
                await ctx.signIn(v.city, result);
            } catch (e) {
                throw anyError(e);
            }
        },
        extra: [
            h('p', { class: 'aside' }, withInvite
                ? h('a', { href: '#/signup?mode=open' }, t('signup.open'))
                : [t('signup.withInvite'), ' ', h('a', { href: '#/signup' }, t('signup.invite'))]),
            h('p', { class: 'aside' }, t('signup.haveAccount'), ' ',
                h('a', { href: '#/login' }, t('signup.toLogin'))),
        ],
    });
    return h('section', { class: 'card narrow' },
        h('h1', null, withInvite ? t('signup.titleInvite') : t('signup.title')),
        f.el);
}
