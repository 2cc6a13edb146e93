// errors.js -- a refused call in words for people (the server's message
// is for logs; these are what a resident reads).
import { t } from '../i18n/index.js';
import { formatCityTime } from './time.js';

// "locked until 2026-12-07 13:05:00 (city time)" from auth.login's
// RATE_LIMITED message.
const LOCKED = /locked until (\d{4}-\d{2}-\d{2} \d{2}:\d{2})(?::\d{2})?/;

/** The words for a log-in's refusal. */
export function loginError(e) {
    if (e.code === 'UNAUTHENTICATED') return t('login.wrong');
    if (e.code === 'RATE_LIMITED') {
        const m = LOCKED.exec(e.message);
        if (m) return t(/from this address/.test(e.message)
            ? 'login.lockedAddr' : 'login.locked', { until: m[1] });
        return t('login.lockedSoon');
    }
    if (e.code === 'FORBIDDEN' && /disabled/.test(e.message)) {
        const reason = e.message.replace(/^account disabled:?\s*/, '');
        return t('login.disabled', { reason });
    }
    return anyError(e);
}

/** The words for any refusal not handled where it happened. */
export function anyError(e) {
    switch (e && e.code) {
    case 'UNAVAILABLE': return t('err.unavailable');
    case 'TIMEOUT':
    case 'DISCONNECTED': return t('err.network');
    case 'RATE_LIMITED': return t('err.rateLimited');
    default: return t('err.other', { message: e && e.message ? e.message : String(e) });
    }
}

export { formatCityTime };
