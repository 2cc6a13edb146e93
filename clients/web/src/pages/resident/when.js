// when.js -- "when": a day (today, tomorrow, another date) and a from/to
// time in the city's time (lib/time.js), as simple pickers: big day
// choices and two lists of clock times in half hours ("now" for today).
// The slot arithmetic is pure (exported for tests); whenPicker() is the
// control, whose read() gives {start, end} Unix seconds or an error.
import { t } from '../../i18n/index.js';
import { formatCityTime, parseCityTime } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { choices, selectField } from './controls.js';

const HALF = 1800;
const DAY_FIRST = '06:00';
const DAY_LAST = '22:00';
export const HORIZON_DAYS = 90;

/** "YYYY-MM-DD" of ts in the city. */
export function cityDate(ts, tz) {
    return formatCityTime(ts, tz, { time: false });
}

/** The city date n days after the date "YYYY-MM-DD". */
export function addDays(date, n) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The from-times of a day: [{value, label}], value "now" or Unix
 * seconds. Today: "now" and the half hours still ahead (until 22:00);
 * another day: 06:00 to 22:00. */
export function fromSlots(date, now, tz) {
    const out = [];
    const today = date === cityDate(now, tz);
    if (today) out.push({ value: 'now', label: t('res.when.now') });
    const first = parseCityTime(`${date}T${DAY_FIRST}`, tz);
    const last = parseCityTime(`${date}T${DAY_LAST}`, tz);
    for (let s = first; s <= last; s += HALF) {
        if (today && s <= now) continue;
        out.push({ value: String(s), label: formatCityTime(s, tz, { date: false }) });
    }
    return out;
}

/** The until-times after a start: the half hours from 30 minutes after
 * it, for 8 hours; those on the next day say so. */
export function toSlots(start, tz) {
    const out = [];
    const day = cityDate(start, tz);
    let s = Math.ceil((start + HALF) / HALF) * HALF;
    for (; s <= start + 8 * 3600; s += HALF) {
        const hm = formatCityTime(s, tz, { date: false });
        out.push({ value: String(s), label: cityDate(s, tz) === day ? hm
            : t('res.when.nextDay', { time: hm }) });
    }
    return out;
}

/** The until-time to offer first: an hour after the start, on a half
 * hour. */
export function defaultEnd(start) {
    return Math.ceil((start + 3600) / HALF) * HALF;
}

/**
 * The when control. opts: tz, values (a draft's saved choices: day,
 * date, from, to; changed in place as the resident picks), onchange.
 * Returns {row, read()}: read() -> {start, end} or {error, focus}.
 */
export function whenPicker({ tz, values = {}, onchange = () => {} }) {
    const now0 = () => Math.floor(Date.now() / 1000);
    const today = () => cityDate(now0(), tz);
    const v = values;
    if (!v.day) v.day = 'today';
    const dateInput = h('input', { type: 'date', id: `when-date-${Math.random().toString(36).slice(2, 8)}`,
        min: today(), max: addDays(today(), HORIZON_DAYS), value: v.date || addDays(today(), 2),
        'aria-describedby': '' });
    const dateErr = h('p', { class: 'field-error', hidden: true, id: `${dateInput.id}-err` });
    const dateHintId = `${dateInput.id}-hint`;
    dateInput.setAttribute('aria-describedby', `${dateHintId} ${dateErr.id}`);
    const dateRow = h('div', { class: 'field' },
        h('label', { for: dateInput.id }, t('res.when.date')),
        h('p', { class: 'hint', id: dateHintId }, t('res.when.dateHint')),
        dateInput, dateErr);
    const from = selectField({ name: 'from', label: t('res.when.from'),
        onchange: () => { v.from = from.select.value; paintTo(); onchange(); } });
    const to = selectField({ name: 'to', label: t('res.when.to'),
        onchange: () => { v.to = to.select.value; onchange(); } });
    const day = choices({ name: 'day', legend: t('res.when.day'), value: v.day, cls: 'days',
        options: [{ value: 'today', label: t('res.when.today') },
            { value: 'tomorrow', label: t('res.when.tomorrow') },
            { value: 'other', label: t('res.when.other') }],
        onchange: (d) => { v.day = d; paintDay(); onchange(); } });
    dateInput.addEventListener('change', () => { v.date = dateInput.value; paintFrom(); onchange(); });

    function date() {
        if (v.day === 'today') return today();
        if (v.day === 'tomorrow') return addDays(today(), 1);
        return dateInput.value;
    }
    function startOf(value) {
        return value === 'now' ? now0() : Number(value);
    }
    function paintDay() {
        dateRow.hidden = v.day !== 'other';
        paintFrom();
    }
    function paintFrom() {
        const d = date();
        const opts = /^\d{4}-\d{2}-\d{2}$/.test(d) ? fromSlots(d, now0(), tz) : [];
        const keep = opts.some((o) => o.value === v.from) ? v.from
            : (opts.find((o) => o.label === '09:00') || opts[0])?.value;
        from.setOptions(opts, keep);
        v.from = from.select.value;
        paintTo();
    }
    function paintTo() {
        if (!v.from) {
            to.setOptions([]);
            return;
        }
        const start = startOf(v.from);
        const opts = toSlots(start, tz);
        const keep = opts.some((o) => o.value === v.to) ? v.to : String(defaultEnd(start));
        to.setOptions(opts, keep);
        v.to = to.select.value;
    }
    paintDay();

    const row = h('fieldset', { class: 'group' },
        h('legend', null, t('res.when')),
        day.row, dateRow, h('div', { class: 'pair' }, from.row, to.row));

    return {
        row,
        read() {
            from.setError(null);
            dateErr.hidden = true;
            dateInput.removeAttribute('aria-invalid');
            const d = date();
            const now = now0();
            if (v.day === 'other' && (!/^\d{4}-\d{2}-\d{2}$/.test(d) || d < today()
                || d > addDays(today(), HORIZON_DAYS))) {
                dateErr.textContent = t('res.when.badDate');
                dateErr.hidden = false;
                dateInput.setAttribute('aria-invalid', 'true');
                return { error: t('res.when.badDate'), focus: dateInput };
            }
            if (!v.from || !v.to) {
                from.setError(t('res.when.past'));
                return { error: t('res.when.past'), focus: from.select };
            }
            const start = startOf(v.from);
            const end = Number(v.to);
            if (end <= now || start < now - 240 || end <= start) {
                paintFrom();
                from.setError(t('res.when.past'));
                return { error: t('res.when.past'), focus: from.select };
            }
            return { start, end };
        },
    };
}
