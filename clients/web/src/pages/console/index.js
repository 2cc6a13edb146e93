// index.js -- the coordinator's console (#/console), loaded on demand by
// pages/roles.js (its own chunk: not in the first load of the phone
// pages). It puts the parts together and owns the watch:
//
//   regions (tree.js)      the token's scope; a pick watches that scope
//   summary strip          counts by status (live), tasks late, the
//                          median time to match and offers (stats)
//   live queue (queue.js)  model.js's tasks by status, soonest first,
//                          keyed rows changed one by one as events come
//   recent changes         the last few queue events in words
//                          (changes.js)
//   tools                  assign (assign.js), post a task and a menu
//                          item (post.js), map (map.js), stats and board
//                          (stats.js), teams (teams.js), projects
//                          (projects.js: the project_adopted event is
//                          said in recent changes), invite (invite.js),
//                          the credit supermarket's desk (shop.js) and
//                          service certificates (cert.js): these two
//                          in chunks of their own (lazy.js)
//
// The watch: client.watch(scope) for the snapshot, `queue` events through
// client.on('event'), a fresh snapshot after a reconnect through
// client.on('watch'). Events that come while a snapshot is on its way
// are held and replayed against its `upto` (model.js).
//
// Painting: an event changes the model at once and marks what it moved
// (its row, its tree counts, a line of changes); the marks are painted
// once per frame (frames.js), so 50 events a second cost a frame's
// work each frame, not each event.
import './console.css';
import conEn from '../../i18n/console.en.js';
import conZh from '../../i18n/console.zh-CN.js';
import { addWords, lang, t } from '../../i18n/index.js';
import { loadSkills } from '../../lib/skills.js';
import { formatCityWhen } from '../../lib/time.js';
import { h } from '../../ui/dom.js';
import { taskActions } from './actions.js';
import { assignPanel } from './assign.js';
import { changesView } from './changes.js';
import { consoleError } from './errors.js';
import { afterFrame, nextFrame, perFrame } from './frames.js';
import { invitePanel } from './invite.js';
import { lazyPanel } from './lazy.js';
import { mapPanel } from './map.js';
import { QUEUED, QueueModel, STATUSES, isLate, isQueued } from './model.js';
import { postMenuForm, postTaskForm } from './post.js';
import { projectsOf, projectsPanel } from './projects.js';
import { money } from '../projects/show.js';
import { queueView } from './queue.js';
import { regionName } from './regions.js';
import { duration, statsPanel } from './stats.js';
import { teamsPanel } from './teams.js';
import { treeView } from './tree.js';

addWords(conZh, conEn); // the console's words come with its chunk

const CENTRE = { lon: 117.061237, lat: 36.671913 };
const TOOLS = ['assign', 'post', 'menu', 'map', 'stats', 'teams', 'projects', 'shop', 'cert', 'invite'];
const STATS_EVERY_MS = 15000;
const STATS_AFTER_EVENT_MS = 3000;

export async function startConsole(ctx, section) {
    const { client } = ctx;
    const root = ctx.login.region;
    const role = ctx.login.role;
    let scope = root;
    let left = false;
    const timers = [];
    const offs = [];
    const model = new QueueModel();
    await loadSkills(client).catch(() => {});
    if (left) return;

    // --------------------------------------------------- what it says
    const sayLine = h('p', { class: 'say', role: 'status', 'aria-live': 'polite' });
    function say(text, bad = false) {
        sayLine.textContent = text;
        sayLine.classList.toggle('bad', bad);
    }
    const watching = h('p', { class: 'watching' });
    const clock = h('span', { class: 'clock' });

    // ---------------------------------------------------------- parts
    const tree = treeView({ root, onPick: (p) => watchScope(p) });
    const current = (id) => model.tasks.get(id);
    const actions = taskActions({ client, current, say, onAssign: (id) => {
        showTool('assign');
        panel('assign').pick(id);
        panel('assign').focus();
    }, onLink: (id) => {
        showTool('projects');
        panel('projects').pickTask(id);
    } });
    const queue = queueView({ tz: ctx.tz, scope: () => scope, actions, onFull: queueShown });
    const seenRegions = new Set();
    // every queued task's region is in seenRegions (a snapshot's and each
    // event's are added): no need to walk the 500 tasks
    const communities = () => [...seenRegions].filter((r) => r.split('/').length === 4).sort();
    const place = () => {
        const first = [...model.tasks.values()].find((x) => typeof x.lon === 'number');
        return first ? { lon: first.lon, lat: first.lat } : CENTRE;
    };
    const map = mapPanel({ tz: ctx.tz, tasks: () => [...model.tasks.values()],
        onPlace: (lon, lat) => {
            panel('post').setPlace(lon, lat);
            say(t('con.placeSet', { lon: lon.toFixed(5), lat: lat.toFixed(5) }));
        } });
    const stats = statsPanel({ client, scope: () => scope, tz: ctx.tz, onStats: paintStats });
    // The other tools are built the first time they are shown (the task
    // form's date-time inputs alone cost a fresh page some 25 ms): the
    // console's first task and the watch's request do not wait for them.
    // The map's and the stats' objects serve the page even when hidden.
    const makers = {
        assign: () => assignPanel({ client, scope: () => scope, current, say }),
        post: () => postTaskForm({ client, tz: ctx.tz, root, scope: () => scope, communities, place, say,
            listProjects: () => projectsOf(client, scope) }),
        menu: () => postMenuForm({ client, root, scope: () => scope, say }),
        map: () => map,
        stats: () => stats,
        teams: () => teamsPanel({ client, scope: () => scope, say }),
        projects: () => projectsPanel({ client, tz: ctx.tz, root, scope: () => scope, current, say,
            onLinked: linked }),
        shop: () => lazyPanel(() => import('./shop.js'), (m) => m.shopPanel({ client, scope: () => scope, say })),
        cert: () => lazyPanel(() => import('./cert.js'), (m) => m.certPanel({ client, say })),
        invite: () => invitePanel({ client, role, root, scope: () => scope, tz: ctx.tz }),
    };
    const panels = {};
    const slots = {}; // tool -> its place (and id) until it is built

    // ------------------------------------------------- summary strip
    const countEls = {};
    const strip = h('dl', { class: 'strip', 'aria-label': t('con.summary') },
        STATUSES.map((s) => {
            countEls[s] = h('dd', null, '0');
            return h('div', { class: `fig s-${s}` }, h('dt', null, t(`status.${s}`)), countEls[s]);
        }));
    const lateEl = h('dd', null, '0');
    const medianEl = h('dd', null, '–');
    const offersEl = h('dd', null, '–');
    strip.append(h('div', { class: 'fig late' }, h('dt', null, t('con.lateCount')), lateEl),
        h('div', { class: 'fig' }, h('dt', null, t('con.median')), medianEl),
        h('div', { class: 'fig wide' }, h('dt', null, t('con.offersTitle')), offersEl));

    // Each frame after events: a figure is written only when it changed
    // (an unchanged write still costs the browser a style pass).
    const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
    function paintCounts() {
        for (const s of STATUSES) setText(countEls[s], String(model.counts[s] ?? 0));
        const now = Math.floor(Date.now() / 1000);
        let late = 0;
        for (const x of model.tasks.values()) if (isLate(x, now)) late += 1;
        setText(lateEl, String(late));
        lateEl.parentElement.classList.toggle('warn', late > 0);
    }
    function paintStats(s) {
        medianEl.textContent = s.matched > 0 ? duration(s.median_match_s || 0) : t('con.medianNone');
        const o = s.offers || {};
        offersEl.textContent = t('con.offersLine', { sent: o.sent || 0, accepted: o.accepted || 0,
            declined: o.declined || 0, lapsed: o.lapsed || 0 });
    }

    const changes = changesView({ tz: ctx.tz });

    // --------------------------------------------------------- tools
    const toolBtns = {};
    let tool = null;
    const toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-label': t('con.tools') },
        TOOLS.map((k) => {
            toolBtns[k] = h('button', { type: 'button', class: 'tool', 'aria-pressed': 'false',
                'aria-controls': `tool-${k}`, onclick: () => showTool(k, true) }, t(`con.tool.${k}`));
            return toolBtns[k];
        }));
    const toolBox = h('div', { class: 'toolbox' }, TOOLS.map((k) => {
        slots[k] = h('section', { id: `tool-${k}`, hidden: true });
        return slots[k];
    }));
    /** Tool k's panel, built (in its slot) on first use. */
    function panel(k) {
        if (!panels[k]) {
            const p = makers[k]();
            p.el.id = `tool-${k}`;
            p.el.hidden = true;
            slots[k].replaceWith(p.el);
            panels[k] = p;
        }
        return panels[k];
    }
    function showTool(k, focus = false) {
        if (tool === k) return;
        if (tool === 'stats') stats.hide();
        tool = k;
        const shown = panel(k);
        for (const x of TOOLS) {
            toolBtns[x].setAttribute('aria-pressed', String(x === k));
            if (panels[x]) panels[x].el.hidden = x !== k;
        }
        if (k === 'map') map.show();
        if (k === 'stats') stats.show();
        if (k === 'post') {
            shown.refreshRegions();
            shown.refreshProjects();
        }
        if (k === 'teams' || k === 'projects' || k === 'shop' || k === 'cert') shown.show();
        if (focus) shown.el.querySelector('h2')?.setAttribute('tabindex', '-1');
    }

    // ------------------------------------------------------- layout
    section.replaceChildren(
        h('div', { class: 'con-head' },
            h('h1', { tabindex: '-1' }, t('console.title')),
            h('div', { class: 'con-where' }, watching, h('p', { class: 'muted' }, clock))),
        sayLine,
        strip,
        h('div', { class: 'con-grid' },
            h('div', { class: 'con-side' }, tree.el,
                h('section', { class: 'recent', 'aria-labelledby': 'recent-h' },
                    h('h2', { id: 'recent-h' }, t('con.changes')), changes.el)),
            h('section', { class: 'con-queue', 'aria-labelledby': 'queue-h', 'aria-busy': 'true' },
                h('h2', { id: 'queue-h' }, t('con.queue')), queue.el),
            h('aside', { class: 'con-tools', 'aria-labelledby': 'tools-h' },
                h('h2', { id: 'tools-h', class: 'visually-hidden' }, t('con.tools')), toolbar, toolBox)));
    const queueSection = section.querySelector('.con-queue');

    function paintClock() {
        clock.textContent = t('home.cityTime', { time: formatCityWhen(Math.floor(Date.now() / 1000), ctx.tz(), lang()) });
    }
    paintClock();

    // ---------------------------------------------- batched painting
    let statsDue = 0;
    const soon = perFrame(paintSoon);
    function paintSoon() {
        paintCounts();
        tree.paint();
        changes.paint();
        const now = Date.now();
        if (statsDue && now >= statsDue) {
            statsDue = 0;
            stats.load();
        }
    }

    function onDelta(d) {
        queue.update(d.task, model.counts);
        map.update(d.task);
        changes.push(d);
        tree.move(d.prev?.region ?? null, isQueued(d.task) ? d.task.region : null);
        if (d.task.region && !seenRegions.has(d.task.region)) {
            seenRegions.add(d.task.region);
            tree.add([d.task.region]);
        }
        if (!statsDue) statsDue = Date.now() + STATS_AFTER_EVENT_MS;
        soon();
    }

    function applySnapshot(snap) {
        model.snapshot(snap);
        const tasks = [...model.tasks.values()];
        for (const x of tasks) seenRegions.add(x.region);
        tree.add([...seenRegions]);
        queue.reset(tasks, model.counts);
        tree.counts(tasks);
        map.reset();
        panels.post?.refreshRegions();
        paintCounts();
    }

    // The snapshot's rows are all in (queue.js builds them over a few
    // frames): only now is the queue said to be watched and not busy.
    function queueShown() {
        queueSection.setAttribute('aria-busy', 'false');
        watching.textContent = t('con.watching', { region: regionName(scope, ''), path: scope, n: model.tasks.size });
    }

    async function watchScope(region) {
        scope = region;
        tree.setWatched(region);
        queueSection.setAttribute('aria-busy', 'true');
        watching.textContent = t('con.loading', { path: region });
        model.hold();
        try {
            const snap = await client.watch(region);
            // decoding 500 tasks took most of this task: the table
            // starts in the next one (events meanwhile are held)
            await nextFrame();
            if (left || region !== scope) return;
            applySnapshot(snap);
            stats.load();
        } catch (e) {
            if (left) return;
            model.release();
            say(t('con.watchFailed', { why: consoleError(e, 'watch') }), true);
            watching.textContent = t('con.notWatching', { path: region });
        }
    }

    // A task linked to a project (no queue event says so): its row shows
    // the project from now on.
    function linked(taskId, projectId) {
        const task = model.tasks.get(taskId);
        if (!task) return;
        task.project_id = projectId;
        queue.update(task, model.counts);
    }

    // project_adopted (to the staff who published it): a line of recent
    // changes, said in the status line, the projects and figures read
    // again. Its title comes from project.get (the event names the id).
    async function adopted(ev) {
        let title = ev.project_id;
        try {
            title = (await client.call('project.get', { project_id: ev.project_id })).title || title;
        } catch { /* the id says it */ }
        if (left) return;
        const words = { title, name: ev.partner?.name || ev.partner?.id || '', money: money(ev.pledge) };
        changes.note({ at: ev.at, change: 'adopted', label: t('proj.con.change'),
            text: t('proj.con.adoptedLine', words) });
        say(t('proj.con.adoptedSay', words));
        panels.projects?.load();
        if (tool === 'stats') stats.load();
        soon();
    }

    offs.push(client.on('event', (ev) => {
        if (ev.type === 'project_adopted') return adopted(ev);
        if (ev.type !== 'queue') return;
        const d = model.apply(ev);
        if (d) onDelta(d);
    }));
    offs.push(client.on('watch', async (snap) => {
        if (left || (snap.region && snap.region !== scope)) return;
        model.hold(); // as in watchScope: a frame's wait, events held
        await nextFrame();
        if (left || (snap.region && snap.region !== scope)) return;
        applySnapshot(snap);
        say(t('con.reconnected'));
    }));
    timers.push(setInterval(() => {
        queue.tick();
        paintCounts();
        paintClock();
    }, 30000));
    timers.push(setInterval(() => stats.load(), STATS_EVERY_MS));

    document.body.classList.add('desk');
    ctx.onLeave(() => {
        left = true;
        document.body.classList.remove('desk');
        for (const off of offs) off();
        for (const x of timers) { clearTimeout(x); clearInterval(x); }
        soon.cancel();
        queue.stop();
        stats.hide();
        map.destroy();
        if (client.state === 'ready') client.unwatch().catch(() => {});
    });

    // the regions of the scope's people, for the tree (first page)
    client.call('account.list', { limit: 100 }).then((res) => {
        const rs = (res.accounts || []).map((a) => a.region);
        for (const r of rs) seenRegions.add(r);
        if (!left) tree.add(rs);
        panels.post?.refreshRegions();
    }, () => {});

    const watched = watchScope(root); // its request goes out now
    await afterFrame(); // the page's first layout in a task of its own
    if (!left && !tool) showTool('post');
    await watched;
    if (!left && QUEUED.every((s) => !model.counts[s])) say(t('con.emptyScope'));
}
