// wishForm.js -- #/resident?view=new: make a micro-wish: the kind of
// help (the skill catalogue, by its labels), what exactly, when (city
// time), where, and a note only the volunteer who comes sees ->
// wish.submit, retry-safe (asking.js).
import { t } from '../../i18n/index.js';
import { loadSkills, skillLabel, skillList } from '../../lib/skills.js';
import { field, h } from '../../ui/dom.js';
import { askingForm, askingParts, lastPlace, noteError } from './asking.js';
import { bytes, selectField } from './controls.js';
import { draft } from './memory.js';

export function newWishView(ctx, m) {
    const d = draft(m, 'wish');
    const v = d.values;
    const skill = selectField({ name: 'skill', label: t('res.new.skill'), value: v.skill,
        onchange: (x) => { v.skill = x; } });
    function paintSkills() {
        skill.setOptions([{ value: '', label: t('res.new.skillPick') }, ...skillList()
            .map((s) => ({ value: s.code, label: s.label }))], v.skill || '');
    }
    paintSkills();
    loadSkills(ctx.client).then(paintSkills, () => {});
    const what = field({ name: 'what', label: t('res.new.what'), hint: t('res.new.whatHint'),
        value: v.title || '', attrs: { maxlength: 200 } });
    what.input.addEventListener('input', () => { v.title = what.input.value; });
    const ask = askingParts(ctx, d);
    lastPlace(ctx, m).then((p) => { if (p) ask.where.setLast(p); });

    function read() {
        skill.setError(null);
        what.setError(null);
        if (!skill.select.value) {
            skill.setError(t('res.new.noSkill'));
            return { error: t('res.new.noSkill'), focus: skill.select };
        }
        const title = what.input.value.trim() || skillLabel(skill.select.value);
        if (bytes(title) > 200) {
            what.setError(t('res.new.tooLong'));
            return { error: t('res.new.tooLong'), focus: what.input };
        }
        const w = ask.when.read();
        if (w.error) return w;
        const p = ask.where.read();
        if (p.error) return p;
        const n = noteError(ask.note);
        if (n) return n;
        const params = { title, skill: skill.select.value, lon: p.lon, lat: p.lat,
            start: w.start, end: w.end };
        const note = ask.note.input.value.trim();
        if (note) params.note = note;
        return { params };
    }

    const el = h('section', { class: 'resident' },
        h('p', { class: 'back' }, h('a', { href: '#/resident' }, '← ', t('res.back'))),
        h('h1', null, t('res.new.title')),
        askingForm(ctx, m, { draftName: 'wish', d, read, method: 'wish.submit',
            rows: [skill.row, what.row, ...ask.parts],
            label: t('res.new.submit'), busyLabel: t('res.new.busy'),
            notice: t('res.submitted') }));
    return { el };
}
