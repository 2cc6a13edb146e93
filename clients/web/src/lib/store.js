// store.js -- what the apps keep in the browser (localStorage): the
// log-in (the token with its expiry, who it is for), the resume point of
// each user's events, and the large-text choice. Nothing else: no
// password, no event content.

const LOGIN = 'mw.login';
const LARGE = 'mw.large';
const resumeKey = (city, user) => `mw.resume.${city}.${user}`;

function ls() {
    try {
        return globalThis.localStorage || null;
    } catch {
        return null;
    }
}

/** Saves a login result ({token, expires, user, role, region, status})
 * of city. */
export function saveLogin(city, login) {
    const keep = { city, token: login.token, expires: login.expires,
        user: login.user, role: login.role, region: login.region,
        status: login.status || 'active' };
    ls()?.setItem(LOGIN, JSON.stringify(keep));
    return keep;
}

/** The saved log-in, or null when there is none or it has expired
 * (then it is removed). now: Unix seconds. */
export function loadLogin(now = Math.floor(Date.now() / 1000)) {
    let v = null;
    try {
        v = JSON.parse(ls()?.getItem(LOGIN) || 'null');
    } catch {
        v = null;
    }
    if (!v || typeof v.token !== 'string' || !(v.expires > now)) {
        if (v) clearLogin();
        return null;
    }
    return v;
}

export function updateLogin(fields) {
    const v = loadLogin();
    if (v) ls()?.setItem(LOGIN, JSON.stringify({ ...v, ...fields }));
}

export function clearLogin() {
    ls()?.removeItem(LOGIN);
}

export function loadResume(city, user) {
    return ls()?.getItem(resumeKey(city, user)) || '';
}

export function saveResume(city, user, id) {
    ls()?.setItem(resumeKey(city, user), id);
}

export function loadLarge() {
    return ls()?.getItem(LARGE) === '1';
}

export function saveLarge(on) {
    ls()?.setItem(LARGE, on ? '1' : '0');
}
