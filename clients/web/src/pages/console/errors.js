// errors.js -- the console's refusals in words: what each action's
// FORBIDDEN, CONFLICT, NOT_FOUND and BAD_REQUEST mean to a coordinator;
// everything else as lib/errors.js says it.
import { t } from '../../i18n/index.js';
import { anyError } from '../../lib/errors.js';

// action: review, assign, cancel, post, menu, invite, watch, list
export function consoleError(e, action = '') {
    const code = e && e.code;
    const msg = (e && e.message) || '';
    if (code === 'FORBIDDEN') return t('con.err.forbidden');
    if (code === 'NOT_FOUND') {
        if (action === 'assign' && /volunteer|profile|skills/i.test(msg)) return t('con.err.noProfile');
        if (action === 'assign' && !/task/i.test(msg)) return t('con.err.noProfile');
        return t('con.err.notFound');
    }
    if (code === 'CONFLICT') {
        if (action === 'review') return t('con.err.notReview');
        if (action === 'assign') {
            if (/clash|overlap/i.test(msg)) return t('con.err.clash');
            if (/already/i.test(msg)) return t('con.err.already');
            return t('con.err.full');
        }
        if (action === 'cancel') return t('con.err.cancelConflict');
        if (action === 'post' || action === 'menu') {
            if (/request_id/.test(msg)) return t('con.err.retry');
            return t('con.err.maxPosts');
        }
    }
    if (code === 'BAD_REQUEST') {
        if (/outside/.test(msg)) return t('con.err.outside');
        if (/start/.test(msg)) return t('con.err.start');
        return t('con.err.badField', { message: msg });
    }
    return anyError(e);
}
