// lazyPage.js -- a page's stand-in in the first load: its heading at once,
// the page itself (a chunk of its own, with its words and CSS) when it is
// first opened. Each page keeps its own `import('./page.js')` call, so
// the bundler still splits every page into its own chunk.
import { anyError } from './errors.js';

// Returns `box` (the stand-in: the page's heading and `said`, a "loading"
// status line inside it) and starts `load()` (the page's import()). Once
// loaded, `view(mod)` builds the page, which replaces `box`; nothing is
// built if the reader left the page first (ctx.onLeave). Focus moves to
// the page's h1 only if it was inside the stand-in (keyboard and screen
// reader users keep their place). A failed load leaves the stand-in up
// and says why in `said`.
export function lazyPage(ctx, box, said, load, view) {
    let left = false;
    ctx.onLeave(() => { left = true; });
    load().then((mod) => {
        if (left) return;
        const hadFocus = box.contains(document.activeElement);
        const node = view(mod);
        box.replaceWith(node);
        const h1 = node.querySelector('h1');
        if (h1 && hadFocus) {
            h1.setAttribute('tabindex', '-1');
            h1.focus();
        }
    }, (e) => {
        said.textContent = anyError(e);
    });
    return box;
}
