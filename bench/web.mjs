// bench/web.mjs -- the web apps' first load in Debian's Chromium, for
// `make bench` (bench/run.sh, phase 11): each page of a phone loaded
// cold (a fresh browser context: nothing cached, the log-in already
// stored) RUNS times against the bench's wishd, until the page's own
// data is on screen (its "mw:ready:<page>" mark, clients/web/src/lib/
// ready.js). Prints one JSON line a page, labelled web-<page>:
//   ready_ms_p50, ready_ms_max   the mark, from the navigation's start
//   dom_ms_p50                   DOMContentLoaded's end
//   js_css_wire, js_css_raw      bytes of JS and CSS on the wire and
//                                decoded (wishd sends gzip twins)
//   long_tasks, long_task_max_ms long tasks (> 50 ms) until ready, all
//                                runs together
// Environment: WISH_URL (the apps), WISH_TOKENS (a JSON map role ->
// session, as tests/web/browser/lib.mjs takes), RUNS (default 5).
import { launch, measureLoad, PHONE } from '../tests/web/browser/lib.mjs';

const RUNS = Number(process.env.RUNS || 5);
const PAGES = [
    { name: 'volunteer', who: 'volunteer', hash: '#/volunteer' },
    { name: 'resident', who: 'resident', hash: '#/resident' },
];

// The p-th quantile (0..1) of sorted numbers, nearest rank.
function quantile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

const browser = await launch();
try {
    // One load of each first: the machine's caches (not the browser's)
    // warm, as they are on a server that has been up a while.
    for (const p of PAGES) await measureLoad(browser, p.who, p.hash, p.name, { viewport: PHONE });
    for (const p of PAGES) {
        const runs = [];
        for (let i = 0; i < RUNS; i++) {
            runs.push(await measureLoad(browser, p.who, p.hash, p.name, { viewport: PHONE }));
        }
        const ready = runs.map((r) => r.readyMs).sort((a, b) => a - b);
        const dom = runs.map((r) => r.domMs).sort((a, b) => a - b);
        const long = runs.flatMap((r) => r.longTasks);
        console.log(JSON.stringify({
            label: `web-${p.name}`, runs: RUNS,
            ready_ms_p50: quantile(ready, 0.5), ready_ms_max: ready[ready.length - 1],
            dom_ms_p50: quantile(dom, 0.5),
            js_css_wire: runs[0].jsCssBytes, js_css_raw: runs[0].jsCssRaw,
            long_tasks: long.length, long_task_max_ms: long.length ? Math.max(...long) : 0,
        }));
    }
} finally {
    await browser.close();
}
