// changes.js -- "recent changes": the last SHOWN queue events in words,
// newest first (time in the city, what happened, the task, the
// volunteer). push() keeps an event; paint(), once per frame, puts the
// events pushed since the last paint on top and drops the oldest: a
// frame after events writes only the new lines, not the whole list.
// note() adds a line of another event (a project adopted) the same way.
import { t } from '../../i18n/index.js';
import { formatCityTime } from '../../lib/time.js';
import { h } from '../../ui/dom.js';

const SHOWN = 8;

/** The list; tz() is the city's offset. */
export function changesView({ tz }) {
    const el = h('ol', { class: 'changes' });
    let fresh = []; // deltas (model.js) pushed since the last paint
    let shown = 0; // lines of events in el

    function line(d) {
        if (d.note) {
            return h('li', null,
                h('span', { class: 'at' }, formatCityTime(d.at || Math.floor(Date.now() / 1000), tz(), { date: false })),
                ' ', h('span', { class: `chg c-${d.change}` }, d.label), ' ', d.text);
        }
        return h('li', null,
            h('span', { class: 'at' }, formatCityTime(d.at || Math.floor(Date.now() / 1000), tz(), { date: false })),
            ' ', h('span', { class: `chg c-${d.change}` }, t(`con.change.${d.change}`)), ' ',
            d.task.title, d.volunteer_id ? ` · ${d.volunteer_id}` : '');
    }

    el.append(h('li', { class: 'muted' }, t('con.noChanges')));
    return {
        el,
        /** A delta of model.apply(): shown at the next paint(). */
        push(d) {
            fresh.push(d);
            if (fresh.length > SHOWN) fresh = fresh.slice(-SHOWN);
        },
        /** A line of an event that is not the queue's: {at, change (its
         * class), label, text}; shown at the next paint(). */
        note(n) {
            this.push({ ...n, note: true });
        },
        /** The new lines on top, the list cut to SHOWN. */
        paint() {
            if (!fresh.length) return;
            if (!shown) el.replaceChildren();
            el.prepend(...fresh.reverse().map(line));
            shown = Math.min(SHOWN, shown + fresh.length);
            while (el.children.length > shown) el.lastElementChild.remove();
            fresh = [];
        },
    };
}
