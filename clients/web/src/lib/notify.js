// notify.js -- an offer that arrives while a page is open raises a
// notification (through the service worker, as phones require) and
// vibrates, where the browser allows. Permission is asked only on a
// person's tap (askPermission from a button).
import { t, lang } from '../i18n/index.js';
import { skillLabel } from './skills.js';
import { formatCityWhen } from './time.js';

export function notifySupported() {
    return typeof globalThis.Notification === 'function';
}

export function permission() {
    return notifySupported() ? Notification.permission : 'unsupported';
}

export async function askPermission() {
    if (!notifySupported()) return 'unsupported';
    return Notification.requestPermission();
}

/** Tells of an offer event ({offer_id, task, expires_at}); tz is the
 * city's offset. Does nothing for an offer already lapsed. */
export async function notifyOffer(ev, tz) {
    if (!ev || ev.type !== 'offer') return;
    if (ev.expires_at && ev.expires_at * 1000 < Date.now()) return;
    try {
        globalThis.navigator?.vibrate?.([200, 100, 200]);
    } catch { /* not allowed without a tap */ }
    if (permission() !== 'granted') return;
    const task = ev.task || {};
    const body = t('offer.body', { skill: skillLabel(task.skill),
        title: task.title || '', when: task.start ? formatCityWhen(task.start, tz, lang()) : '' });
    const opts = { body, tag: `offer-${ev.offer_id}`, icon: './icons/icon-192.png',
        badge: './icons/icon-192.png', data: { hash: '#/volunteer' },
        vibrate: [200, 100, 200] };
    try {
        const reg = await navigator.serviceWorker?.getRegistration();
        if (reg) {
            await reg.showNotification(t('offer.title'), opts);
            return;
        }
        new Notification(t('offer.title'), opts); // eslint-disable-line no-new
    } catch { /* the browser refused: the page still shows it */ }
}
