// words.js -- the partner's page's refusals in words (the server's
// message is for logs): project.adopt's and the reads'.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';

/** A refused project call in words a partner's staff can act on. */
export function partnerError(e) {
    const code = e && e.code;
    const msg = (e && e.message) || '';
    if (code === 'CONFLICT') {
        if (/adopted already/.test(msg)) return t('ptn.adopt.taken');
        if (/ended/.test(msg)) return t('ptn.adopt.ended');
        if (/at most/.test(msg)) return t('ptn.adopt.full');
    }
    if (code === 'BAD_REQUEST' && /'pledge'/.test(msg)) return t('ptn.adopt.badPledge');
    if (code === 'BAD_REQUEST' && /'note'/.test(msg)) return t('ptn.adopt.longNote');
    if (code === 'FORBIDDEN') return t('proj.err.forbidden');
    if (code === 'NOT_FOUND') return t('proj.err.notFound');
    return anyError(e);
}

/** The name the partner goes by: its account's, else its user id. */
export function partnerName(ctx) {
    return ctx.me?.name || ctx.hello?.name || ctx.login?.user || '';
}
