// wishd-flags: --review-regions jinan/lixia
// story.test.mjs -- the whole four-step story of issue 16 across three
// browser contexts at once, against a real wishd (wishes in jinan/lixia
// wait for review):
//   - the coordinator zhao-coord, at a desk (#/console watching
//     jinan/lixia), posts a task through the console;
//   - the resident wang-ayi, on a phone (#/resident, the phone's place
//     emulated), makes a wish through the page, starting now;
//   - the coordinator approves it in the console;
//   - the volunteer li-lei, on a phone (#/volunteer, at the same place;
//     its profile -- available, shopping, home near, free all week --
//     set through the protocol from Node first), gets the offer live,
//     accepts, checks in, checks out;
//   - the resident confirms and rates 5 stars in the page;
//   - the console shows li-lei's name on the row and its counts change,
//     live. No page errors in any of the three. Screenshots:
//     build/screens/story-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DESK, PHONE, TOKENS, URL_BASE, launch, openAs, openPage,
    screenshot } from './lib.mjs';

const require = createRequire(new URL('../../../clients/web/package.json', import.meta.url));
const WebSocket = require('ws');
const { connect } = await import('../../../clients/web/src/client/wish.js');

const LON = 117.061237; // FL_LON, FL_LAT: the scenario's place
const LAT = 36.671913;
const XINHE = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const WS_URL = URL_BASE.replace(/^http/, 'ws').replace(/\/?$/, '/ws');
const WAIT = { timeout: 15000 };
const TITLE = '帮我买两斤鸡蛋和青菜';

let browser;
let vol;
before(async () => {
    browser = await launch();
    // li-lei's profile: available, shops, lives near, free all week.
    vol = connect(WS_URL, { WebSocket, callTimeoutMs: 8000, backoffMinMs: 50 });
    await vol.hello(TOKENS.volunteer.token);
    const weekly = [0, 1, 2, 3, 4, 5, 6].map((d) => [d, '00:00', '24:00']);
    await vol.call('volunteer.update', { name: '李雷', skills: ['shopping'],
        lon: LON + 0.002, lat: LAT + 0.001, radius: 3000, max_active: 5, weekly,
        available: true });
});
after(async () => {
    await vol?.close({ waitMs: 500 }).catch(() => {});
    await browser?.close();
});

/** The console's count of status s (the summary strip), as a number. */
async function count(page, s) {
    return Number(await page.locator(`.strip .fig.s-${s} dd`).textContent());
}

/** Waits until the console's count of status s satisfies pred. */
async function countBecomes(page, s, pred, what) {
    const end = Date.now() + 15000;
    for (;;) {
        const n = await count(page, s);
        if (pred(n)) return n;
        if (Date.now() > end) assert.fail(`console count ${s} = ${n}: ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

test('the story: posted, wished, approved, offered, accepted, served, confirmed and rated, live in three pages', { timeout: 180000 }, async () => {
    const here = { latitude: LAT, longitude: LON };
    const con = await openPage(browser, { viewport: DESK });
    const res = await openPage(browser, { viewport: PHONE, geolocation: here });
    const vp = await openPage(browser, { viewport: PHONE, geolocation: here });
    const cp = con.page;
    const rp = res.page;
    const vpage = vp.page;

    // ---- all three open at once
    await Promise.all([
        openAs(cp, 'coordinator', '#/console'),
        openAs(rp, 'resident', '#/resident'),
        openAs(vpage, 'volunteer', '#/volunteer'),
    ]);
    await cp.getByRole('heading', { level: 1, name: '服务中心控制台' }).waitFor(WAIT);
    await cp.locator('.watching', { hasText: '实时队列' }).waitFor(WAIT);
    assert.equal(await cp.locator('.tree .node[aria-current="true"]').getAttribute('data-region'), 'jinan/lixia');
    await rp.getByRole('heading', { name: '我的微心愿', level: 1 }).waitFor(WAIT);
    await vpage.getByRole('heading', { name: '志愿者', level: 1 }).waitFor(WAIT);
    await screenshot(cp, 'story-0-console', { doc: true });
    await screenshot(rp, 'story-0-resident');
    await screenshot(vpage, 'story-0-volunteer');

    // ---- 1. the coordinator posts a task through the console
    const openBefore = await count(cp, 'open');
    const post = cp.locator('#tool-post');
    await post.getByLabel('任务名称').fill('社区助老：整理药箱');
    await post.getByLabel('服务项目').selectOption('elder_care');
    await post.getByLabel('社区').fill(XINHE);
    await post.getByLabel('需要人数').fill('1');
    await post.getByRole('button', { name: '发布这个任务' }).click();
    const posted = cp.locator('.say', { hasText: /已发布 T\d+：社区助老：整理药箱/ });
    await posted.waitFor(WAIT);
    const tid = /已发布 (T\d+)/.exec(await posted.innerText())[1];
    await cp.locator(`.q-open tr[data-task="${tid}"]`).waitFor(WAIT);
    await countBecomes(cp, 'open', (n) => n === openBefore + 1, 'the posted task is open');
    await screenshot(cp, 'story-1-posted');

    // ---- 2. the resident makes a wish through the page, starting now
    const reviewBefore = await count(cp, 'review');
    await rp.getByRole('link', { name: /许一个心愿/ }).click();
    await rp.getByRole('heading', { name: '许一个微心愿' }).waitFor(WAIT);
    await rp.getByLabel('需要哪一类帮助').selectOption('shopping');
    await rp.getByLabel('具体要做什么').fill(TITLE);
    await rp.getByRole('radio', { name: '今天' }).check();
    await rp.getByLabel('从几点').selectOption({ label: '现在就来' });
    // The first until-time (half an hour on, or so; past the city's
    // midnight late in the evening: li-lei's slots join across it).
    const toFirst = await rp.getByLabel('到几点').locator('option').first().getAttribute('value');
    await rp.getByLabel('到几点').selectOption(toFirst);
    await rp.getByRole('button', { name: /用我现在的位置/ }).click();
    await rp.getByText('已定位到您现在的位置').waitFor(WAIT);
    await rp.getByLabel('给志愿者的话（可不填）').fill('3号楼2单元401，敲门声音大一点');
    await screenshot(rp, 'story-2-wish-form', { doc: true });
    await rp.getByRole('button', { name: '提交心愿' }).click();
    await rp.getByRole('heading', { name: '我的微心愿', level: 1 }).waitFor(WAIT);
    await rp.getByText('心愿已经提交了').waitFor(WAIT);
    const card = rp.locator('article.task').first();
    await card.waitFor(WAIT);
    const wid = await card.getAttribute('data-task');
    assert.match(wid, /^T\d+$/);
    await card.locator('.timeline').getByText('等服务中心审核').waitFor(WAIT);
    await screenshot(rp, 'story-2-wish-review');

    // It appears live in the console's review table; the count goes up.
    const reviewRow = cp.locator(`.q-review tr[data-task="${wid}"]`);
    await reviewRow.waitFor(WAIT);
    assert.match(await reviewRow.innerText(), /3号楼2单元401/);
    await countBecomes(cp, 'review', (n) => n === reviewBefore + 1, 'the wish waits in review');
    await screenshot(cp, 'story-2-console-review');

    // ---- 3. the coordinator approves it
    await cp.getByRole('button', { name: `通过心愿：${TITLE}` }).click();
    const row = cp.locator(`.q-open tr[data-task="${wid}"]`);
    await row.waitFor(WAIT);
    await cp.locator('.say', { hasText: `已通过：${TITLE}` }).waitFor(WAIT);
    await countBecomes(cp, 'review', (n) => n === reviewBefore, 'the review count back down');
    await countBecomes(cp, 'open', (n) => n === openBefore + 2, 'the approved wish is open');
    await card.locator('.timeline').getByText('正在为您找志愿者').waitFor(WAIT);
    await screenshot(cp, 'story-3-approved');
    await screenshot(rp, 'story-3-seeking');

    // ---- 4. li-lei gets the offer live, accepts
    const filledBefore = await count(cp, 'filled');
    const offer = vpage.locator('li.offer', { hasText: TITLE });
    await offer.waitFor(WAIT);
    assert.match(await offer.locator('.clock').textContent(), /^\d{1,2}:\d\d$/);
    assert.match(await offer.textContent(), /代买代购/);
    await screenshot(vpage, 'story-4-offer', { doc: true });
    await offer.getByRole('button', { name: '接受' }).click();
    await offer.waitFor({ state: 'detached', ...WAIT });
    const mine = vpage.locator('li.mine', { hasText: TITLE });
    await mine.getByText('已接单，待签到').waitFor(WAIT);
    assert.match(await mine.textContent(), /36\.67191, 117\.06124/); // the exact place
    assert.match(await mine.textContent(), /3号楼2单元401/); // and the note
    await screenshot(vpage, 'story-4-accepted');

    // The console: the name on the row, the counts changed; the
    // resident: who is coming.
    const filledRow = cp.locator(`.q-filled tr[data-task="${wid}"]`);
    await filledRow.locator('.c-people', { hasText: '李雷（li-lei）' }).waitFor(WAIT);
    assert.match(await filledRow.innerText(), /已接单/);
    await countBecomes(cp, 'filled', (n) => n === filledBefore + 1, 'the wish is filled');
    await countBecomes(cp, 'open', (n) => n === openBefore + 1, 'the wish is no longer open');
    await screenshot(cp, 'story-4-console-assigned', { doc: true });
    await card.locator('.timeline').getByText('李雷接了单，会来帮您').waitFor(WAIT);
    await screenshot(rp, 'story-4-coming', { doc: true });

    // ---- checks in on the spot, then out
    await mine.getByRole('button', { name: '到了，签到' }).click();
    await mine.getByText('已签到，服务中').waitFor(WAIT);
    await card.locator('.timeline').getByText('李雷已到达').waitFor(WAIT);
    await screenshot(vpage, 'story-5-checked-in', { doc: true });
    await screenshot(rp, 'story-5-arrived');
    await mine.getByRole('button', { name: '服务完了，签退' }).click();
    await mine.getByText('已签退，等待确认').waitFor(WAIT);
    await card.locator('.timeline').getByText('李雷已完成服务').waitFor(WAIT);
    await screenshot(vpage, 'story-5-checked-out');

    // ---- the resident confirms and rates, in the page
    const doneBefore = await count(cp, 'done');
    const confirm = card.getByRole('button', { name: '确认李雷已完成服务' });
    await confirm.waitFor(WAIT);
    await screenshot(rp, 'story-6-finished');
    await confirm.click();
    await card.locator('.timeline').getByText('您已确认服务完成').waitFor(WAIT);
    // li-lei's page: confirmed, with the hours and points, live.
    await mine.getByText(/已确认：[\d.]+ 小时，\d+ 积分/).waitFor(WAIT);
    await screenshot(vpage, 'story-6-confirmed');
    await card.getByRole('group', { name: '给李雷打分' }).waitFor(WAIT);
    await card.locator('label.star').nth(4).click();
    await card.getByText('您选了：5 颗星：非常满意').waitFor(WAIT);
    await card.getByLabel('想说的话（可不填）').fill('小李很细心，谢谢！');
    await screenshot(rp, 'story-6-rate', { doc: true });
    await card.getByRole('button', { name: '提交评价' }).click();
    await card.locator('.timeline').getByText('您给了 5 颗星').waitFor(WAIT);
    await card.getByText('谢谢您的评价').waitFor(WAIT);
    await screenshot(rp, 'story-6-resident-rated');

    // li-lei's page: the 5 stars, live. The console: done.
    await mine.getByText('已评价：5 星').waitFor(WAIT);
    await screenshot(vpage, 'story-6-rated');
    await countBecomes(cp, 'done', (n) => n === doneBefore + 1, 'the wish is done');
    await countBecomes(cp, 'filled', (n) => n === filledBefore, 'no longer filled');
    await screenshot(cp, 'story-6-console-done');

    // No page errors in any of the three.
    assert.deepEqual(cp._mwErrors || [], [], 'console page errors');
    assert.deepEqual(rp._mwErrors || [], [], 'resident page errors');
    assert.deepEqual(vpage._mwErrors || [], [], 'volunteer page errors');
    await Promise.all([con.context.close(), res.context.close(), vp.context.close()]);
});
