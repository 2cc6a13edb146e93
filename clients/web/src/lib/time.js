// time.js -- times shown and read in the city's time (hello's tz_offset,
// minutes east of UTC; 480 in Jinan), never the phone's own zone: a
// daughter in Shanghai or abroad books her father's visit in Jinan's
// time (docs/clients.md, "Session").

export const DEFAULT_TZ = 480; // an older wishd sends no tz_offset

function parts(ts, tz) {
    const d = new Date((ts + tz * 60) * 1000); // read as UTC
    return {
        y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(),
        h: d.getUTCHours(), mi: d.getUTCMinutes(), wd: d.getUTCDay(),
    };
}

const p2 = (n) => String(n).padStart(2, '0');

/** "2026-12-07 13:05" for Unix seconds ts in the city's time;
 * { date: false } gives "13:05", { time: false } "2026-12-07". */
export function formatCityTime(ts, tz = DEFAULT_TZ, { date = true, time = true } = {}) {
    const p = parts(ts, tz);
    const ds = `${p.y}-${p2(p.mo)}-${p2(p.d)}`;
    const ts2 = `${p2(p.h)}:${p2(p.mi)}`;
    return [date ? ds : null, time ? ts2 : null].filter(Boolean).join(' ');
}

/** A time in words for people: "12月7日 周一 13:05" or "Mon 7 Dec
 * 13:05", in the city's time. */
export function formatCityWhen(ts, tz = DEFAULT_TZ, lang = 'zh-CN') {
    const p = parts(ts, tz);
    const hm = `${p2(p.h)}:${p2(p.mi)}`;
    if (lang.startsWith('zh')) {
        const wd = '日一二三四五六'[p.wd];
        return `${p.mo}月${p.d}日 周${wd} ${hm}`;
    }
    const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][p.wd];
    const mo = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep',
        'Oct', 'Nov', 'Dec'][p.mo - 1];
    return `${wd} ${p.d} ${mo} ${hm}`;
}

/** Unix seconds of "YYYY-MM-DDTHH:MM" (or with a space, as an
 * <input type="datetime-local"> gives) read as the city's time; NaN when
 * it is not such a string. */
export function parseCityTime(text, tz = DEFAULT_TZ) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(
        String(text).trim());
    if (!m) return NaN;
    const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    return Math.floor(utc / 1000) - tz * 60;
}

/** The value for an <input type="datetime-local"> showing ts in the
 * city's time. */
export function toCityInput(ts, tz = DEFAULT_TZ) {
    return formatCityTime(ts, tz).replace(' ', 'T');
}
