// words.js -- the resident page's refusals in words (the server's
// message is for logs); what is not the page's own goes to
// lib/errors.js's anyError.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';

export function resError(e) {
    const code = e?.code;
    const m = String(e?.message || '');
    if (code === 'BAD_REQUEST') {
        if (/place .* is outside/.test(m)) return t('res.err.outside');
        if (/field 'start'/.test(m)) return t('res.err.startPast');
        if (/field 'end'/.test(m)) return t('res.err.endBad');
    }
    if (code === 'CONFLICT') {
        if (/max-open-wishes/.test(m)) return t('res.err.tooMany');
        if (/request_id/.test(m)) return t('res.err.sentBefore');
        if (/checked in/.test(m)) return t('res.err.checkedIn');
        return t('res.err.changed');
    }
    if (code === 'FORBIDDEN') {
        if (/one community/.test(m)) return t('res.err.noCommunity');
        if (/not on offer/.test(m)) return t('res.err.notOnOffer');
    }
    if (code === 'NOT_FOUND') return t('res.err.gone');
    return anyError(e);
}
