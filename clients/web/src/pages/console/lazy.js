// lazy.js -- a console tool whose code and words come in a chunk of their
// own the first time the tool is shown (the credit supermarket, the
// service certificates): the console's first load does not carry them.
import { t } from '../../i18n/index.js';
import { h } from '../../ui/dom.js';
import { consoleError } from './errors.js';

/** A tool panel {el, show} at once: el says it is loading until
 * load() (an import) resolves with make, whose make(module) builds the
 * real panel {el, show}; that panel goes inside el, and show() is
 * passed on to it (once it is there). */
export function lazyPanel(load, make) {
    const wait = h('p', { class: 'muted', role: 'status' }, t('con.loadingTool'));
    const el = h('div', { class: 'lazy-tool' }, wait);
    let inner = null;
    let wanted = false;
    const ready = load().then((m) => {
        inner = make(m);
        el.replaceChildren(inner.el);
        if (wanted) inner.show?.();
    }, (e) => { wait.textContent = consoleError(e); });
    return {
        el,
        ready,
        show() {
            wanted = true;
            inner?.show?.();
        },
    };
}
