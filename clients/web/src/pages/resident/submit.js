// submit.js -- creating calls that are safe to retry (wish.submit,
// menu.order; protocol.md, "Retries and request_id"). A draft keeps one
// request_id from the first try until a try succeeds, and the exact
// params of the last try: a retry of an unchanged form sends them again
// unchanged (a "now" start is not moved), so whatever happened to an
// earlier try, the thing is made once. A try whose fate is unknown (the
// connection broke, no answer, the store busy) is sent again by itself
// a couple of times once the client is back.

const UNSURE = new Set(['DISCONNECTED', 'TIMEOUT', 'UNAVAILABLE']);
const TRIES = 3;

/** A fresh request_id: 24 characters of [A-Za-z0-9_.-] (works without a
 * secure context: getRandomValues only). */
export function newRequestId() {
    const b = new Uint8Array(12);
    globalThis.crypto.getRandomValues(b);
    return `w${Date.now().toString(36)}.${[...b].map((x) => x.toString(36).padStart(2, '0')).join('').slice(0, 14)}`;
}

/**
 * Calls method once for the draft ({requestId, frozen}). key: the form's
 * values as a string; params(): the params for a new try (called only
 * when the form changed since the last try). Resolves with the result
 * (the draft is then spent: a new id next time); rejects with the last
 * error (the draft keeps its id).
 */
export async function createOnce(client, method, draft, key, params, { sleep } = {}) {
    if (!draft.requestId) draft.requestId = newRequestId();
    if (!draft.frozen || draft.frozen.key !== key) {
        draft.frozen = { key, params: { ...params(), request_id: draft.requestId } };
    }
    const p = draft.frozen.params;
    const wait = sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
    for (let i = 1; ; i++) {
        try {
            const r = await client.call(method, p);
            draft.requestId = null;
            draft.frozen = null;
            return r;
        } catch (e) {
            if (!UNSURE.has(e?.code) || i >= TRIES) {
                // Refused for good: nothing was stored, the next try is
                // judged afresh (new params may go with the same id).
                if (!UNSURE.has(e?.code)) draft.frozen = null;
                throw e;
            }
            await wait(400 * i);
        }
    }
}
