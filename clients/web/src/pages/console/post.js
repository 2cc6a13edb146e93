// post.js -- 中心制单: a task (task.post: title, skill from the
// catalogue, start and end in the city's time, place, community,
// quantity, note) and a menu item (menu.post: title, skill, scope,
// note). Each form keeps one request_id until it succeeds, so a retry
// after a lost answer never posts twice (protocol.md, "Retries").
import { t } from '../../i18n/index.js';
import { skillList } from '../../lib/skills.js';
import { parseCityTime, toCityInput } from '../../lib/time.js';
import { field, h, uid } from '../../ui/dom.js';
import { REGION4_RE, bytes, form } from '../forms.js';
import { consoleError } from './errors.js';
import { inScope } from './model.js';
import { projectError } from './projects.js';

const SCOPE_RE = /^[a-z0-9_-]+(\/[a-z0-9_-]+){0,3}$/;
const newRequestId = () => `con-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

function skillField(name) {
    const id = uid(name);
    const errId = `${id}-err`;
    const select = h('select', { id, name, required: true, 'aria-describedby': errId },
        h('option', { value: '' }, t('con.f.pickSkill')),
        skillList().map((s) => h('option', { value: s.code }, s.label)));
    const err = h('p', { class: 'field-error', id: errId, hidden: true });
    return {
        row: h('div', { class: 'field' }, h('label', { for: id }, t('con.f.skill')), select, err),
        input: select,
        setError(text) {
            err.textContent = text || '';
            err.hidden = !text;
            if (text) select.setAttribute('aria-invalid', 'true');
            else select.removeAttribute('aria-invalid');
        },
    };
}

function textArea(label, name) {
    const id = uid(name);
    const input = h('textarea', { id, name, rows: 2, maxlength: 2000 });
    return { row: h('div', { class: 'field' }, h('label', { for: id }, label), input), input,
        setError() {} };
}

/** One creating call of a form: shows each [field, message] of `bad`
 * (focusing the first) and refuses; else sends `method` with v, the note
 * when one is written, and the form's request_id, which changes only
 * after a success, so a retry after a lost answer creates nothing twice.
 * Clears the title and note once it went through; returns the result. */
async function createOnce(client, method, kind, v, bad, ids, title, note) {
    if (bad.length) {
        for (const [fl, msg] of bad) fl.setError(msg);
        bad[0][0].input.focus();
        throw t('con.v.fix');
    }
    const params = { ...v, request_id: ids.current };
    const n = note.input.value.trim();
    if (n) params.note = n;
    let res;
    try {
        res = await client.call(method, params);
    } catch (e) {
        throw v.project_id ? projectError(e, kind) : consoleError(e, kind);
    }
    ids.current = newRequestId();
    title.input.value = '';
    note.input.value = '';
    return res;
}

/** The task form. ctx: {client, tz, scope, token scope root, communities(),
 * place() -> {lon, lat} default, listProjects() -> Promise of the
 * scope's projects, say}. Returns {el, setPlace(lon, lat),
 * refreshRegions(), refreshProjects()}. */
export function postTaskForm({ client, tz, root, scope, communities, place, listProjects, say }) {
    const ids = { current: newRequestId() }; // this form's request_id
    const now = Math.floor(Date.now() / 1000);
    const start0 = Math.ceil((now + 3600) / 1800) * 1800;
    const title = field({ label: t('con.f.title'), name: 'title', required: true, attrs: { maxlength: 200 } });
    const skill = skillField('pskill');
    const start = field({ label: t('con.f.start'), name: 'start', type: 'datetime-local',
        value: toCityInput(start0, tz()), required: true });
    const end = field({ label: t('con.f.end'), name: 'end', type: 'datetime-local',
        value: toCityInput(start0 + 7200, tz()), required: true });
    const listId = uid('communities');
    const region = field({ label: t('con.f.region'), name: 'region', hint: t('con.f.regionHint'),
        required: true, attrs: { list: listId, autocomplete: 'off', spellcheck: 'false' } });
    const datalist = h('datalist', { id: listId });
    const p0 = place();
    const lon = field({ label: t('con.f.lon'), name: 'lon', inputmode: 'decimal', required: true,
        value: p0.lon.toFixed(6) });
    const lat = field({ label: t('con.f.lat'), name: 'lat', inputmode: 'decimal', required: true,
        value: p0.lat.toFixed(6), hint: t('con.f.placeHint') });
    const quantity = field({ label: t('con.f.quantity'), name: 'quantity', type: 'number', value: '1',
        required: true, attrs: { min: 1, max: 1000, step: 1 } });
    const note = textArea(t('con.f.note'), 'note');
    const project = projectField();
    const fields = [title, skill, start, end, region, lon, lat, quantity, note, project];

    // The project a new task counts for (task.post's project_id): the
    // scope's projects not ended; the server checks the rest (its region,
    // its period) and a refusal says which in words.
    function projectField() {
        const id = uid('pproject');
        const select = h('select', { id, name: 'pproject' }, h('option', { value: '' }, t('proj.con.postNone')));
        return { row: h('div', { class: 'field' }, h('label', { for: id }, t('proj.con.postField')), select),
            input: select, setError() {} };
    }
    async function refreshProjects() {
        let list = [];
        try {
            list = (await listProjects()).filter((p) => !p.ended);
        } catch { /* the choice stays as it was */ return; }
        const keep = project.input.value;
        project.input.replaceChildren(h('option', { value: '' }, t('proj.con.postNone')),
            ...list.map((p) => h('option', { value: p.project_id }, `${p.title}（${p.project_id}）`)));
        project.input.value = list.some((p) => p.project_id === keep) ? keep : '';
    }

    let listed = null;
    function refreshRegions() {
        const list = communities();
        if (list.join(' ') !== listed) { // a snapshot comes with the same ones
            listed = list.join(' ');
            datalist.replaceChildren(...list.map((r) => h('option', { value: r })));
        }
        if (!region.input.value) {
            const s = scope();
            region.input.value = REGION4_RE.test(s) ? s : (list.find((r) => inScope(r, s)) || '');
        }
    }
    refreshRegions();

    const f = form({
        fields, label: t('con.postSubmit'), busyLabel: t('con.posting'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const v = {
                title: title.input.value.trim(), skill: skill.input.value,
                start: parseCityTime(start.input.value, tz()), end: parseCityTime(end.input.value, tz()),
                region: region.input.value.trim(), lon: Number(lon.input.value), lat: Number(lat.input.value),
                quantity: Number(quantity.input.value),
            };
            if (project.input.value) v.project_id = project.input.value;
            const bad = [];
            if (!v.title || bytes(v.title) > 200) bad.push([title, t('con.v.title')]);
            if (!v.skill) bad.push([skill, t('con.v.skill')]);
            if (!Number.isFinite(v.start)) bad.push([start, t('con.v.time')]);
            if (!Number.isFinite(v.end)) bad.push([end, t('con.v.time')]);
            else if (Number.isFinite(v.start) && v.end <= v.start) bad.push([end, t('con.v.end')]);
            if (!REGION4_RE.test(v.region) || !inScope(v.region, root)) {
                bad.push([region, t('con.v.region', { scope: root })]);
            }
            if (!(v.lon >= -180 && v.lon <= 180) || lon.input.value.trim() === '') bad.push([lon, t('con.v.place')]);
            if (!(v.lat >= -85 && v.lat <= 85) || lat.input.value.trim() === '') bad.push([lat, t('con.v.place')]);
            if (!Number.isInteger(v.quantity) || v.quantity < 1 || v.quantity > 1000) {
                bad.push([quantity, t('con.v.quantity')]);
            }
            const res = await createOnce(client, 'task.post', 'post', v, bad, ids,
                title, note);
            say(t('con.posted', { id: res.task_id, title: v.title }));
        },
    });
    const el = h('section', { class: 'panel', 'aria-labelledby': 'post-h' },
        h('h2', { id: 'post-h' }, t('con.tool.post')), datalist, f.el);
    return {
        el,
        refreshRegions,
        refreshProjects,
        setPlace(lo, la) {
            lon.input.value = lo.toFixed(6);
            lat.input.value = la.toFixed(6);
        },
    };
}

/** The menu item form (menu.post). */
export function postMenuForm({ client, root, scope, say }) {
    const ids = { current: newRequestId() }; // this form's request_id
    const title = field({ label: t('con.f.menuTitle'), name: 'mtitle', required: true, attrs: { maxlength: 200 } });
    const skill = skillField('mskill');
    const region = field({ label: t('con.f.scope'), name: 'mscope', hint: t('con.f.scopeHint'),
        required: true, value: scope(), attrs: { autocomplete: 'off', spellcheck: 'false' } });
    const note = textArea(t('con.f.note'), 'mnote');
    const fields = [title, skill, region, note];
    const f = form({
        fields, label: t('con.menuSubmit'), busyLabel: t('con.posting'),
        async onSubmit() {
            fields.forEach((x) => x.setError(null));
            const v = { title: title.input.value.trim(), skill: skill.input.value,
                region: region.input.value.trim() };
            const bad = [];
            if (!v.title || bytes(v.title) > 200) bad.push([title, t('con.v.title')]);
            if (!v.skill) bad.push([skill, t('con.v.skill')]);
            if (!SCOPE_RE.test(v.region) || !inScope(v.region, root)) {
                bad.push([region, t('con.v.scope', { scope: root })]);
            }
            const res = await createOnce(client, 'menu.post', 'menu', v, bad, ids,
                title, note);
            say(t('con.menuPosted', { id: res.item_id, title: v.title }));
        },
    });
    return { el: h('section', { class: 'panel', 'aria-labelledby': 'menu-h' },
        h('h2', { id: 'menu-h' }, t('con.tool.menu')), f.el) };
}
