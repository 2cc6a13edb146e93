// blocks.js -- the rows of one status table kept in blocks: each block
// is a <tbody role="rowgroup"> of at most BLOCK_MAX rows with
// content-visibility: auto (console.css). The browser then skips style,
// layout and paint of every block off screen as one box, and tracks the
// visibility of a few dozen blocks instead of 500 rows: a row moved,
// added or taken out dirties its own block only, so the frame after an
// event costs what the blocks on screen cost, however long the queue.
// Every row stays in the document (find in page, screen readers, the
// tests' selectors see them all); only their rendering is skipped.
//
// A fresh table fills blocks of BLOCK_ROWS in order (append); a block
// that grows past BLOCK_MAX by insertions is split in two, and an empty
// block is removed.
import { h } from '../../ui/dom.js';

// A row changed lays out its block again: 16 to 32 rows, a screenful.
export const BLOCK_ROWS = 16;
const BLOCK_MAX = 2 * BLOCK_ROWS;

/** The blocks of table (rows are {tr} objects of rows.js; the table's
 * <thead> stays first). */
export function rowBlocks(table) {
    const blockOf = new WeakMap(); // tr -> block {tb, n}
    const rowOf = new WeakMap(); // tr -> row
    let last = null; // the last block, where append() goes

    // A new last block.
    function newBlock() {
        const b = { tb: h('tbody', { role: 'rowgroup' }), n: 0 };
        table.append(b.tb);
        last = b;
        return b;
    }

    function put(b, r) {
        blockOf.set(r.tr, b);
        rowOf.set(r.tr, r);
        b.n += 1;
    }

    // Splits b in two: half its rows move to a new block beside it --
    // the half without the focused element, since a node moved in the
    // document loses the focus (a keyboard user's place).
    function split(b) {
        const kids = [...b.tb.children];
        const half = b.n >> 1;
        const focus = document.activeElement;
        const focusLate = focus && b.tb.contains(focus) && kids.slice(half).some((tr) => tr.contains(focus));
        const b2 = { tb: h('tbody', { role: 'rowgroup' }), n: 0 };
        const moving = focusLate ? kids.slice(0, half) : kids.slice(half);
        if (focusLate) b.tb.before(b2.tb);
        else {
            b.tb.after(b2.tb);
            if (b === last) last = b2;
        }
        b2.tb.append(...moving);
        for (const tr of moving) put(b2, rowOf.get(tr));
        b.n -= moving.length;
    }

    return {
        /** Row r after every row there (a fresh table, in order). */
        append(r) {
            const b = !last || last.n >= BLOCK_ROWS ? newBlock() : last;
            b.tb.append(r.tr);
            put(b, r);
        },
        /** Row r just before row next (or last of all when next is
         * null); r must not be in the table. */
        insert(r, next) {
            const b = next ? blockOf.get(next.tr) : last || newBlock();
            b.tb.insertBefore(r.tr, next ? next.tr : null);
            put(b, r);
            if (b.n > BLOCK_MAX) split(b);
        },
        /** Takes row r out (its block goes when it was the last row). */
        remove(r) {
            const b = blockOf.get(r.tr);
            r.tr.remove();
            if (!b) return;
            blockOf.delete(r.tr);
            b.n -= 1;
            if (b.n > 0) return;
            if (b === last) {
                const prev = b.tb.previousElementSibling;
                last = prev && prev.tagName === 'TBODY' ? blockOf.get(prev.firstElementChild) : null;
            }
            b.tb.remove();
        },
        /** Every row out. */
        clear() {
            for (const tb of [...table.tBodies]) tb.remove();
            last = null;
        },
    };
}
