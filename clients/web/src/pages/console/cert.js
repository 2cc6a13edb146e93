// cert.js -- the console's service certificates (志愿服务证明), issued by
// staff for a volunteer of their scope (its own chunk, through lazy.js):
// the volunteer's user name and, if wanted, a period (first and last
// day, in the city's calendar; the server's default is the last 365
// days), then certificate.issue {volunteer_id, from, to}; its PDF is
// downloaded as the volunteer's own page does (lib/savefile.js) and its
// number, verification code and totals are said. docs/protocol.md,
// "Service certificates".
import './shop.css';
import { addWords, t } from '../../i18n/index.js';
import shopEn from '../../i18n/shop.lazy.en.js';
import shopZh from '../../i18n/shop.lazy.zh-CN.js';
import { saveFile } from '../../lib/savefile.js';
import { field, h } from '../../ui/dom.js';
import { consoleError } from './errors.js';

addWords(shopZh, shopEn);

const num = (x) => String(Math.round((Number(x) || 0) * 100) / 100);

// certificate.issue's refusals in words.
function certError(e) {
    const code = e && e.code;
    const msg = (e && e.message) || '';
    if (code === 'NOT_FOUND' && /no confirmed service/.test(msg)) return t('cert.err.none');
    if (code === 'NOT_FOUND') return t('cert.err.noVolunteer');
    if (code === 'FORBIDDEN') return t('cert.err.scope');
    if (code === 'CONFLICT') return t('cert.err.tooMany');
    if (code === 'BAD_REQUEST' && /more than 300/.test(msg)) return t('cert.err.tooLong');
    if (code === 'BAD_REQUEST' && /'(from|to)'/.test(msg)) return t('cert.err.period');
    if (code === 'BAD_REQUEST' && /volunteer_id/.test(msg)) return t('cert.err.noVolunteer');
    return consoleError(e);
}

export function certPanel({ client, say }) {
    const who = field({ label: t('cert.who'), name: 'cwho', hint: t('cert.whoHint'),
        attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 64 } });
    const from = field({ label: t('cert.from'), name: 'cfrom', type: 'date' });
    const to = field({ label: t('cert.to'), name: 'cto', type: 'date' });
    const said = h('p', { class: 'muted', role: 'status' });
    const btn = h('button', { type: 'submit', class: 'primary' }, t('cert.issueBtn'));
    const form = h('form', { class: 'cert-issue', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        who.setError(null);
        from.setError(null);
        const id = who.input.value.trim();
        if (!id) {
            who.setError(t('cert.needWho'));
            who.input.focus();
            return;
        }
        const params = { volunteer_id: id };
        if (from.input.value) params.from = from.input.value;
        if (to.input.value) params.to = to.input.value;
        if (params.from && params.to && params.from > params.to) {
            from.setError(t('cert.err.period'));
            from.input.focus();
            return;
        }
        btn.disabled = true;
        said.textContent = t('cert.making');
        try {
            const r = await client.call('certificate.issue', params);
            if (!(r.pdf instanceof Uint8Array)) throw new Error('no pdf');
            saveFile(r.pdf, `certificate-${r.no}.pdf`, 'application/pdf');
            said.textContent = t('cert.done', { no: r.no, name: r.name, from: r.from, to: r.to,
                tasks: r.tasks, hours: num(r.hours), code: r.code });
            say(t('cert.doneSay', { no: r.no, name: r.name }));
        } catch (err) {
            const words = certError(err);
            said.textContent = words;
            if (err && (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN') && !/service/.test(err.message || '')) {
                who.setError(words);
            }
        } finally {
            btn.disabled = false;
        }
    } }, who.row, h('div', { class: 'pair' }, from.row, to.row),
    h('p', { class: 'hint' }, t('cert.periodHint')), btn, said);
    const el = h('section', { class: 'panel', 'aria-labelledby': 'cert-h' },
        h('h2', { id: 'cert-h' }, t('cert.title')), h('p', { class: 'muted' }, t('cert.about')), form);
    return { el, show: () => {} };
}
