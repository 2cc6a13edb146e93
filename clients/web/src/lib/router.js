// router.js -- routes in the URL's hash: #/login, #/signup?invite=CODE,
// #/reset?code=CODE, #/pending, #/volunteer, #/resident, #/console,
// #/partner, #/
// (home: by the role). An invite link as account.invite makes it
// (public-url + "?invite=CODE") lands on #/signup?invite=CODE, a reset
// link as account.reset makes it (public-url + "?reset=CODE") on
// #/reset?code=CODE, a certificate's link (public-url +
// "?verify=CODE&city=CITY") on #/verify?code=CODE&city=CITY.

/** {path, query} of a hash like "#/signup?invite=X". */
export function parseHash(hash) {
    const h = String(hash || '').replace(/^#/, '') || '/';
    const q = h.indexOf('?');
    const path = (q < 0 ? h : h.slice(0, q)) || '/';
    const query = Object.fromEntries(new URLSearchParams(q < 0 ? '' : h.slice(q + 1)));
    return { path: path.startsWith('/') ? path : `/${path}`, query };
}

/** The hash to go to for a page URL's query (?invite=, ?reset=,
 * ?verify=), or
 * null. */
export function hashForSearch(search) {
    const p = new URLSearchParams(search || '');
    if (p.get('invite')) return `#/signup?invite=${encodeURIComponent(p.get('invite'))}`;
    if (p.get('reset')) return `#/reset?code=${encodeURIComponent(p.get('reset'))}`;
    if (p.get('verify')) {
        return `#/verify?code=${encodeURIComponent(p.get('verify'))}`
            + `&city=${encodeURIComponent(p.get('city') || '')}`;
    }
    return null;
}

export function go(hash) {
    if (globalThis.location.hash === hash) globalThis.dispatchEvent(new HashChangeEvent('hashchange'));
    else globalThis.location.hash = hash;
}

/** Where a role's home is. */
export function homeOf(role) {
    if (role === 'volunteer') return '#/volunteer';
    if (role === 'resident') return '#/resident';
    if (role === 'coordinator' || role === 'admin') return '#/console';
    if (role === 'partner') return '#/partner';
    return '#/login';
}
