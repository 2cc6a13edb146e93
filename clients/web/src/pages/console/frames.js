// frames.js -- when the console paints: at most once per animation
// frame, and long work cut into slices that each fit in a frame. The
// console's budget (issue 16) is no task over 50 ms while a 500-task
// queue takes 50 events a second; the browser needs the rest of each
// 16 ms frame for style, layout and paint, so a slice stops at SLICE_MS.
//
// A hidden tab gets no animation frames: every wait here also ends by a
// timer (HIDDEN_MS), so a console left in a background tab still keeps
// its rows true, only later.

export const SLICE_MS = 8;
const HIDDEN_MS = 300;

/** fn, run once at the next frame however often the returned function
 * is called before it; returns schedule(). cancel() is schedule.cancel. */
export function perFrame(fn) {
    let frame = 0;
    let timer = 0;
    function run() {
        cancelAnimationFrame(frame);
        clearTimeout(timer);
        frame = 0;
        timer = 0;
        fn();
    }
    function schedule() {
        if (frame) return;
        frame = requestAnimationFrame(run);
        timer = setTimeout(run, HIDDEN_MS);
    }
    schedule.cancel = () => {
        cancelAnimationFrame(frame);
        clearTimeout(timer);
        frame = 0;
        timer = 0;
    };
    schedule.pending = () => frame !== 0;
    return schedule;
}

/** A promise settled at the next frame: work after it starts a task of
 * its own (e.g. after a large message was decoded in this one). */
export function nextFrame() {
    return new Promise((resolve) => perFrame(resolve)());
}

/** A promise settled in a task of its own after the next frame was
 * painted: work after it does not add to that frame (e.g. a panel
 * built after the page's first layout, not in the same task). */
export function afterFrame() {
    return nextFrame().then(() => new Promise((resolve) => setTimeout(resolve, 0)));
}

/** Calls step(item) for each item, as many per frame as fit in SLICE_MS
 * (at least one), starting at the next frame; then done(). Returns a
 * stop() that abandons what is left (done is not called). */
export function inSlices(items, step, done) {
    let i = 0;
    let stopped = false;
    const next = perFrame(() => {
        if (stopped) return;
        // the first slice runs code not yet optimised and its frame
        // lays out the first screenful: half the time
        const until = performance.now() + (i === 0 ? SLICE_MS / 2 : SLICE_MS);
        do step(items[i++]); while (i < items.length && performance.now() < until);
        if (i < items.length) next();
        else done();
    });
    if (items.length) next();
    else queueMicrotask(() => { if (!stopped) done(); });
    return () => {
        stopped = true;
        next.cancel();
    };
}
