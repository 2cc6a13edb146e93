// resident.test.mjs -- the resident page (#/resident) in Chromium on a
// phone, against a real wishd, with a volunteer and a coordinator acting
// through the protocol from Node (the app's client module with `ws`):
//   - a wish made through the page (shopping, now, place from the
//     phone's location, a note) is offered to the volunteer, who takes
//     it: the page shows who is coming live; check-in and check-out show
//     on its timeline; the resident confirms and rates 5 stars with a
//     comment through the page (the star control by keyboard);
//   - a second wish, tomorrow 09:00-10:00 city time, shows the
//     volunteer's new rating when taken, and is cancelled with a reason;
//   - an item the coordinator put on the menu is booked through the page;
//   - the page in Chinese, in English and in large text; axe-core finds
//     nothing serious or critical in any state. Screenshots:
//     build/screens/resident-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PHONE, TOKENS, URL_BASE, axeSerious, launch, openAs, openPage,
    screenshot } from './lib.mjs';

const require = createRequire(new URL('../../../clients/web/package.json', import.meta.url));
const WebSocket = require('ws');
const { connect } = await import('../../../clients/web/src/client/wish.js');
const { formatCityTime, parseCityTime } = await import('../../../clients/web/src/lib/time.js');

const LON = 117.061237; // FL_LON, FL_LAT: the scenario's place
const LAT = 36.671913;
const DISTRICT = process.env.WISH_DISTRICT || 'jinan/lixia';
const WS_URL = `${URL_BASE.replace(/^http/, 'ws')}ws`;
const WAIT = { timeout: 15000 };

let browser;
let page;
let context;
let vol;        // the volunteer li-lei, through the protocol
let volEvents;
let resident;   // the resident's own session from Node, for checks only
let coord;
let tz = 480;

/** A session of role from WISH_TOKENS with its events collected. */
async function person(role) {
    const c = connect(WS_URL, { WebSocket, callTimeoutMs: 8000, backoffMinMs: 50 });
    const events = [];
    c.on('event', (ev) => { events.push(ev); });
    const hello = await c.hello(TOKENS[role].token);
    return { c, events, hello };
}

/** The first event of list that pred accepts, waiting up to ms; null. */
async function eventOf(list, pred, ms = 10000) {
    const end = Date.now() + ms;
    for (;;) {
        const ev = list.find(pred);
        if (ev || Date.now() > end) return ev || null;
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** The volunteer takes task id: accepts its offer, or claims it when
 * no offer came (a wish across midnight fits no weekly slot). */
async function volunteerTakes(id) {
    const offer = await eventOf(volEvents, (e) => e.type === 'offer' && e.task?.task_id === id);
    if (offer) await vol.call('offer.accept', { offer_id: offer.offer_id });
    else await vol.call('task.claim', { task_id: id });
    return !!offer;
}

async function axeClean(what) {
    assert.deepEqual(await axeSerious(page), [], `axe on ${what}`);
}

/** The card of the page's newest task and its id. */
async function newestCard() {
    const card = page.locator('article.task').first();
    await card.waitFor(WAIT);
    return { card, id: await card.getAttribute('data-task') };
}

before(async () => {
    browser = await launch();
    const v = await person('volunteer');
    vol = v.c;
    volEvents = v.events;
    tz = v.hello.tz_offset ?? 480;
    // A volunteer at home near the place, free all week, who shops.
    const weekly = [0, 1, 2, 3, 4, 5, 6].map((d) => [d, '00:00', '24:00']);
    await vol.call('volunteer.update', { name: '李雷', skills: ['shopping', 'haircut'],
        lon: LON + 0.002, lat: LAT + 0.001, radius: 3000, max_active: 5, weekly,
        available: true });
    resident = (await person('resident')).c;
    coord = (await person('coordinator')).c;
    ({ context, page } = await openPage(browser, { viewport: PHONE,
        geolocation: { latitude: LAT, longitude: LON } }));
});

after(async () => {
    await context?.close();
    await browser?.close();
    for (const c of [vol, resident, coord]) await c?.close({ waitMs: 500 });
});

test('timeline steps and time slots (no browser)', async () => {
    const { steps, actions } = await import('../../../clients/web/src/pages/resident/timeline.js');
    const { fromSlots, toSlots, defaultEnd } = await import('../../../clients/web/src/pages/resident/when.js');
    const keys = (s) => s.map((x) => `${x.key}:${x.state}`);
    const base = { task_id: 'T1', kind: 'wish', status: 'open', assignees: [] };
    assert.deepEqual(keys(steps(base)), ['submitted:done', 'seeking:current',
        'arrivedTodo:todo', 'finishedTodo:todo', 'confirmedTodo:todo', 'ratedTodo:todo']);
    assert.deepEqual(keys(steps({ ...base, status: 'review' })).slice(0, 3),
        ['submitted:done', 'review:current', 'comingTodo:todo']);
    assert.deepEqual(keys(steps({ ...base, status: 'rejected', reason: 'not here' })),
        ['submitted:done', 'rejected:stop']);
    const on = (status) => ({ ...base, status: 'filled',
        assignees: [{ volunteer_id: 'li-lei', name: '李雷', status }] });
    const seen = [{ type: 'assigned', at: 5, volunteer: { id: 'li-lei', name: '李雷', rating: 4.5 },
        volunteer_id: 'li-lei' }];
    const coming = steps(on('assigned'), seen);
    assert.deepEqual(coming[1], { key: 'coming', state: 'done',
        vars: { name: '李雷', rating: 4.5 }, at: 5 });
    assert.equal(coming[2].key, 'waitArrive');
    // Finished with no sign of a check-in: no "arrived" step is made up.
    assert.deepEqual(keys(steps(on('finished'))).slice(1),
        ['coming:done', 'finished:done', 'confirmNow:current', 'ratedTodo:todo']);
    assert.deepEqual(keys(steps(on('rated'), [], { stars: 4 })).slice(-1), ['rated:done']);
    const cancelled = { ...on('cancelled'), status: 'cancelled', reason: 'no need' };
    assert.deepEqual(keys(steps(cancelled)), ['submitted:done', 'coming:done', 'cancelled:stop']);
    assert.deepEqual(keys(steps({ ...base, status: 'expired' })), ['submitted:done', 'expired:stop']);
    assert.equal(actions(on('assigned')).cancel, true);
    assert.equal(actions(on('active')).cancel, false); // checked in: too late
    assert.equal(actions(on('finished')).confirm.length, 1);
    assert.equal(actions(on('confirmed')).rate.length, 1);

    // Slots in the city's time: 2026-12-07 13:10 in Jinan.
    const now = parseCityTime('2026-12-07T13:10', 480);
    const today = fromSlots('2026-12-07', now, 480);
    assert.equal(today[0].value, 'now');
    assert.equal(today[1].label, '13:30');
    assert.equal(today[today.length - 1].label, '22:00');
    const other = fromSlots('2026-12-08', now, 480);
    assert.equal(other[0].label, '06:00');
    assert.equal(other.length, 33);
    const late = parseCityTime('2026-12-07T22:00', 480);
    const ends = toSlots(late, 480);
    assert.equal(ends[0].label, '22:30');
    assert.match(ends[4].label, /00:30/); // the next day, said so
    assert.equal(defaultEnd(now), parseCityTime('2026-12-07T14:30', 480));
});

test('home: nothing asked yet, two big ways to ask', async () => {
    await openAs(page, 'resident', '#/resident');
    await page.getByRole('heading', { name: '我的微心愿', level: 1 }).waitFor(WAIT);
    await page.getByText('您还没有心愿或订单').waitFor(WAIT);
    assert.ok(await page.getByRole('link', { name: /许一个心愿/ }).isVisible());
    assert.ok(await page.getByRole('link', { name: /从服务菜单点单/ }).isVisible());
    await screenshot(page, 'resident-home-empty');
    await axeClean('the empty home');
});

test('a wish made now: who is coming, arrival, finish, confirm and 5 stars, live', async () => {
    await page.getByRole('link', { name: /许一个心愿/ }).click();
    await page.getByRole('heading', { name: '许一个微心愿' }).waitFor(WAIT);
    await page.getByLabel('需要哪一类帮助').selectOption('shopping');
    await page.getByLabel('具体要做什么').fill('帮我买两斤鸡蛋和青菜');
    await page.getByRole('radio', { name: '今天' }).check();
    await page.getByLabel('从几点').selectOption({ label: '现在就来' });
    await page.getByRole('button', { name: /用我现在的位置/ }).click();
    await page.getByText('已定位到您现在的位置').waitFor(WAIT);
    await page.getByLabel('给志愿者的话（可不填）').fill('3号楼2单元401，敲门声音大一点');
    // The note says who sees it, next to the field.
    assert.ok(await page.getByText('只有来帮您的志愿者能看到').isVisible());
    await screenshot(page, 'resident-new-wish');
    await axeClean('the wish form');
    await page.getByRole('button', { name: '提交心愿' }).click();

    await page.getByRole('heading', { name: '我的微心愿', level: 1 }).waitFor(WAIT);
    await page.getByText('心愿已经提交了').waitFor(WAIT);
    const { card, id } = await newestCard();
    await card.locator('.timeline').getByText('正在为您找志愿者').waitFor(WAIT);
    await card.getByText('帮我买两斤鸡蛋和青菜').waitFor(WAIT);

    // The volunteer takes it: the page shows who is coming, live.
    await volunteerTakes(id);
    await card.locator('.timeline').getByText('李雷接了单，会来帮您').waitFor(WAIT);
    await card.locator('.timeline').getByText('这位志愿者还没有评分').waitFor(WAIT);
    await card.locator('.timeline').getByText('等李雷上门').waitFor(WAIT);
    await screenshot(page, 'resident-coming');
    await axeClean('a volunteer coming');

    // Check-in at the task's place, then check-out.
    await vol.call('task.checkin', { task_id: id, lon: LON, lat: LAT });
    await card.locator('.timeline').getByText('李雷已到达').waitFor(WAIT);
    await vol.call('task.checkout', { task_id: id });
    await card.locator('.timeline').getByText('李雷已完成服务').waitFor(WAIT);
    const confirm = card.getByRole('button', { name: '确认李雷已完成服务' });
    await confirm.waitFor(WAIT);
    await screenshot(page, 'resident-finished');
    await axeClean('a finished task');

    await confirm.click();
    await card.locator('.timeline').getByText('您已确认服务完成').waitFor(WAIT);
    const stars = card.getByRole('group', { name: '给李雷打分' });
    await stars.waitFor(WAIT);
    // By keyboard: 3 stars, then the arrow key twice to 5.
    await card.locator('label.star').nth(2).click();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await card.getByText('您选了：5 颗星：非常满意').waitFor(WAIT);
    assert.ok(await card.getByRole('radio', { name: '5 颗星：非常满意' }).isChecked());
    await card.getByLabel('想说的话（可不填）').fill('小李很细心，谢谢！');
    await screenshot(page, 'resident-rate');
    await axeClean('the rating form');
    await card.getByRole('button', { name: '提交评价' }).click();
    await card.locator('.timeline').getByText('您给了 5 颗星').waitFor(WAIT);
    await card.getByText('谢谢您的评价').waitFor(WAIT);
    const rated = await eventOf(volEvents, (e) => e.type === 'rated' && e.task_id === id);
    assert.equal(rated?.stars, 5);
    const confirmed = await eventOf(volEvents, (e) => e.type === 'confirmed' && e.task_id === id);
    assert.ok(confirmed, 'the volunteer was told of the confirmation');
    await screenshot(page, 'resident-rated');
    await axeClean('a rated task');
});

test('a wish for tomorrow 09:00-10:00 city time, taken, then cancelled with a reason', async () => {
    await page.getByRole('link', { name: /许一个心愿/ }).click();
    await page.getByRole('heading', { name: '许一个微心愿' }).waitFor(WAIT);
    await page.getByLabel('需要哪一类帮助').selectOption('shopping');
    await page.getByLabel('具体要做什么').fill('明早帮我取药');
    await page.getByRole('radio', { name: '明天' }).check();
    await page.getByLabel('从几点').selectOption({ label: '09:00' });
    await page.getByLabel('到几点').selectOption({ label: '10:00' });
    await page.getByRole('button', { name: /用我现在的位置/ }).click();
    await page.getByText('已定位到您现在的位置').waitFor(WAIT);
    await page.getByLabel('给志愿者的话（可不填）').fill('药单在门口信箱里');
    await page.getByRole('button', { name: '提交心愿' }).click();
    await page.getByText('心愿已经提交了').waitFor(WAIT);
    const { card, id } = await newestCard();

    // What went over the wire: tomorrow 09:00-10:00 in the city's time,
    // at the phone's place, with the note.
    const mine = (await resident.call('wish.list')).find((x) => x.task_id === id);
    const now = Math.floor(Date.now() / 1000);
    const tomorrow = formatCityTime(now + 86400, tz, { time: false });
    assert.equal(mine.start, parseCityTime(`${tomorrow}T09:00`, tz));
    assert.equal(mine.end, parseCityTime(`${tomorrow}T10:00`, tz));
    assert.equal(mine.skill, 'shopping');
    assert.equal(mine.note, '药单在门口信箱里');
    assert.ok(Math.abs(mine.lon - LON) < 1e-5 && Math.abs(mine.lat - LAT) < 1e-5);
    await card.getByText(/09:00–10:00/).waitFor(WAIT);

    await volunteerTakes(id);
    await card.locator('.timeline').getByText('李雷接了单，会来帮您').waitFor(WAIT);
    await card.locator('.timeline').getByText('评分 5.0（满分 5 分）').waitFor(WAIT);
    await screenshot(page, 'resident-coming-rated');

    await card.getByRole('button', { name: '取消这个心愿' }).click();
    const reason = card.getByLabel('为什么取消（可不填）');
    await reason.waitFor(WAIT);
    assert.ok(await reason.evaluate((el) => el === document.activeElement));
    await reason.fill('家里人已经帮我取了');
    await screenshot(page, 'resident-cancel');
    await axeClean('the cancel form');
    await card.getByRole('button', { name: '确定取消' }).click();
    await card.locator('.timeline').getByText('已取消：家里人已经帮我取了').waitFor(WAIT);
    // Who had taken it stays on the timeline.
    await card.locator('.timeline').getByText('李雷接了单，会来帮您').waitFor(WAIT);
    await card.getByText('已经取消了。').waitFor(WAIT);
    const told = await eventOf(volEvents, (e) => e.type === 'task_cancelled' && e.task_id === id);
    assert.equal(told?.reason, '家里人已经帮我取了');
    await screenshot(page, 'resident-cancelled');
    await axeClean('a cancelled wish');
});

test('the service menu: an item the centre posted, booked', async () => {
    await coord.call('menu.post', { title: '上门理发', skill: 'haircut', region: DISTRICT,
        note: '社区志愿者带工具上门，适合行动不便的老人。' });
    await page.getByRole('link', { name: /从服务菜单点单/ }).click();
    await page.getByRole('heading', { name: '服务菜单', level: 1 }).waitFor(WAIT);
    await page.getByRole('heading', { name: '上门理发' }).waitFor(WAIT);
    await screenshot(page, 'resident-menu');
    await axeClean('the menu');
    await page.getByRole('link', { name: '预约这一项' }).first().click();
    await page.getByRole('heading', { name: '预约：上门理发' }).waitFor(WAIT);
    await page.getByRole('radio', { name: '明天' }).check();
    await page.getByLabel('从几点').selectOption({ label: '14:00' });
    await page.getByLabel('到几点').selectOption({ label: '15:00' });
    await page.getByRole('button', { name: '和上次一样的地方' }).click();
    await page.getByText('用上次的地点').waitFor(WAIT);
    await screenshot(page, 'resident-order');
    await axeClean('the order form');
    await page.getByRole('button', { name: '确认下单' }).click();
    await page.getByText('已经下单了').waitFor(WAIT);
    const { card } = await newestCard();
    await card.getByRole('heading', { name: '上门理发' }).waitFor(WAIT);
    await card.getByText('点单', { exact: true }).waitFor(WAIT);
    const mine = await resident.call('wish.list');
    assert.equal(mine[0].kind, 'menu');
    assert.equal(mine.length, 3);
    await screenshot(page, 'resident-home-zh');
    await axeClean('the home with three tasks');
});

test('in English and in large text', async () => {
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { name: 'My micro-wishes', level: 1 }).waitFor(WAIT);
    await page.getByText('Cancelled: 家里人已经帮我取了').waitFor(WAIT);
    await page.getByText('You gave 5 stars').waitFor(WAIT);
    await screenshot(page, 'resident-home-en');
    await axeClean('the home in English');
    await page.getByRole('link', { name: /Make a wish/ }).click();
    await page.getByRole('heading', { name: 'Make a micro-wish' }).waitFor(WAIT);
    await page.getByLabel('What kind of help').selectOption('shopping');
    await screenshot(page, 'resident-new-en');
    await axeClean('the wish form in English');
    await page.getByRole('button', { name: /Large text|大字/ }).first().click();
    await page.getByRole('link', { name: /Back to my wishes/ }).click();
    await page.getByRole('heading', { name: 'My micro-wishes', level: 1 }).waitFor(WAIT);
    await screenshot(page, 'resident-home-large');
    await axeClean('the home in large text');
    assert.deepEqual(page._mwErrors || [], []);
});
