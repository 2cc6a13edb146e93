// wishd-flags: --tile-origin http://tiles.test:8080
// account.test.mjs -- the loose ends of issue 16 in Chromium, against a
// real wishd: an open sign-up waits on its own page (#/pending) until a
// coordinator approves it (live, and after a reload), or is told why
// not; a reset link (account.reset's "?reset=CODE") opens the page that
// sets a new password (auth.reset), its refusals in words, then logs in;
// regions shown by their names (config.json's regionNames) on the
// resident's, the volunteer's and the console's pages; map tiles of
// another origin shown under wishd's own Content-Security-Policy once
// tile-origin names it (the flag above). zh-CN and en; axe-core on each
// new page. Screenshots: build/screens/account-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DESK, PHONE, TOKENS, URL_BASE, axeSerious, launch, openAs, openPage,
    screenshot } from './lib.mjs';

const require = createRequire(
    new URL('../../../clients/web/package.json', import.meta.url));
const WebSocket = require('ws');
const { connect } = await import('../../../clients/web/src/client/wish.js');

const REGION = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const WS_URL = URL_BASE.replace(/^http/, 'ws').replace(/\/?$/, '/ws');
const TILES = 'http://tiles.test:8080';

let browser;
let admin;
let coord;
before(async () => {
    browser = await launch();
    const opts = { WebSocket, backoffMinMs: 50, backoffMaxMs: 400 };
    admin = connect(WS_URL, opts);
    await admin.hello(TOKENS.admin.token);
    coord = connect(WS_URL, opts);
    await coord.hello(TOKENS.coordinator.token);
    await admin.call('signup.open', { region: REGION, open: true });
});
after(async () => {
    await admin?.close();
    await coord?.close();
    await browser?.close();
});

async function noAxe(page, what) {
    assert.deepEqual(await axeSerious(page), [], `axe on ${what}`);
}

// Signs up in the browser as a volunteer of REGION with no invite.
async function applyOpen(page, user, name) {
    await page.goto(URL_BASE + '#/signup?mode=open');
    await page.getByRole('textbox', { name: '社区' }).fill(REGION);
    await page.getByRole('textbox', { name: '用户名', exact: true }).fill(user);
    await page.getByRole('textbox', { name: '姓名或称呼' }).fill(name);
    await page.getByLabel('密码', { exact: true }).fill('apply-pass-1');
    await page.getByLabel('再输一遍密码').fill('apply-pass-1');
    await page.getByRole('button', { name: '注册', exact: true }).click();
}

test('a pending sign-up waits on its own page, then becomes a volunteer', { timeout: 90000 }, async () => {
    const { context, page } = await openPage(browser, { viewport: PHONE });
    await applyOpen(page, 'zhou-apply', '周申请');
    await page.waitForURL(/#\/pending$/, { timeout: 15000 });
    await page.getByRole('heading', { name: '您的申请正在等待审核' }).waitFor();
    await page.getByText('您申请在 济南市 历下区 泉城路街道 新和社区 做志愿者').waitFor();
    assert.ok(await page.locator('main').getByRole('button', { name: '退出登录' }).isVisible());
    await page.getByRole('button', { name: '现在查看审核结果' }).click();
    await page.getByText(/还在等待审核/).waitFor();
    await screenshot(page, 'account-pending-zh', { doc: true });
    await noAxe(page, 'the pending page (zh)');

    // The volunteer page, whose calls would all be refused, is not
    // where it goes, even asked for by name; nor after a reload.
    await page.goto(URL_BASE + '#/volunteer');
    await page.waitForURL(/#\/pending$/);
    await page.reload();
    await page.getByRole('heading', { name: '您的申请正在等待审核' }).waitFor();

    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { name: 'Your application is waiting for approval' }).waitFor();
    await page.getByText('You applied to volunteer in Xinhe, Quancheng Road, Lixia, Jinan').waitFor();
    await screenshot(page, 'account-pending-en');
    await noAxe(page, 'the pending page (en)');
    await page.getByRole('button', { name: '切换到中文' }).click();

    // Approved while the page is open: it moves on by itself.
    await coord.call('account.review', { user: 'zhou-apply', approve: true });
    await page.waitForURL(/#\/volunteer$/, { timeout: 10000 });
    await page.getByText('您的申请已经通过，欢迎加入！').waitFor();
    await page.getByRole('heading', { name: '志愿者' }).waitFor();
    await page.getByText('服务范围：历下区 泉城路街道 新和社区').waitFor();
    // Its calls are served (none refused as a pending sign-up's).
    await page.getByText('本季度还没有确认的服务。').waitFor({ timeout: 10000 });
    assert.equal(await page.getByText(/出错了|waiting for a coordinator/).count(), 0);
    await screenshot(page, 'account-approved-zh');
    await context.close();

    // Approved while the app was closed: the next start sees it.
    const b = await openPage(browser, { viewport: PHONE });
    await applyOpen(b.page, 'qian-apply', '钱申请');
    await b.page.waitForURL(/#\/pending$/, { timeout: 15000 });
    await b.page.goto('about:blank');
    await coord.call('account.review', { user: 'qian-apply', approve: true });
    await b.page.goto(URL_BASE + '#/pending');
    await b.page.waitForURL(/#\/volunteer$/, { timeout: 10000 });
    await b.page.getByRole('heading', { name: '志愿者' }).waitFor();
    assert.deepEqual(b.page._mwErrors || [], []);
    await b.context.close();
});

test('a rejected sign-up is told why', { timeout: 60000 }, async () => {
    const { context, page } = await openPage(browser, { viewport: PHONE });
    await applyOpen(page, 'sun-apply', '孙申请');
    await page.waitForURL(/#\/pending$/, { timeout: 15000 });
    await page.getByRole('heading', { name: '您的申请正在等待审核' }).waitFor();
    await coord.call('account.review', { user: 'sun-apply', approve: false,
        reason: '请先到服务站登记' });
    // Said on the page, then on #/login once the session has ended.
    await page.waitForURL(/#\/login$/, { timeout: 10000 });
    await page.getByText('您的申请没有通过：请先到服务站登记').waitFor();
    await screenshot(page, 'account-rejected-zh');
    await context.close();
});

test('a reset link sets a new password, refusals in words, then logs in', { timeout: 60000 }, async () => {
    // A resident with an account (an invite redeemed over the wire).
    const inv = await coord.call('account.invite', { role: 'resident', region: REGION });
    const anon = connect(WS_URL, { WebSocket });
    await anon.call('auth.signup', { city: 'jinan', invite: inv.codes[0], user: 'wu-nainai',
        name: '吴奶奶', password: 'old-password-1' });
    await anon.close();
    const reset = await coord.call('account.reset', { user: 'wu-nainai' });
    assert.match(reset.link, /\?reset=/);

    const { context, page } = await openPage(browser, { viewport: PHONE });
    // A code nobody made: said in words.
    await page.goto(URL_BASE + '#/reset?code=AAAAAAAAAAAAAAAAAAAAAA');
    await page.getByRole('heading', { name: '设置新密码' }).waitFor();
    await page.getByLabel('新密码', { exact: true }).fill('new-password-1');
    await page.getByLabel('再输一次新密码').fill('new-password-1');
    await page.getByRole('button', { name: '设置新密码并登录' }).click();
    await page.getByRole('alert').getByText('这个重置码不对、已经用过或者过期了').waitFor();

    // The link as account.reset made it ("?reset=CODE" after public-url,
    // empty here: this page's address).
    await page.goto(URL_BASE + reset.link);
    await page.waitForURL(/#\/reset\?code=/);
    assert.equal(await page.getByRole('textbox', { name: '重置码' }).inputValue(), reset.code);
    await page.getByLabel('新密码', { exact: true }).fill('new-password-1');
    await page.getByLabel('再输一次新密码').fill('new-password-2');
    await page.getByRole('button', { name: '设置新密码并登录' }).click();
    await page.getByText('两次输入的密码不一样。').waitFor();
    await screenshot(page, 'account-reset-zh', { doc: true });
    await noAxe(page, 'the reset page (zh)');
    await page.getByLabel('再输一次新密码').fill('new-password-1');
    await page.getByRole('button', { name: '设置新密码并登录' }).click();
    await page.waitForURL(/#\/resident/, { timeout: 15000 });
    // The resident page says the community by its name.
    await page.getByText('您的社区：历下区 泉城路街道 新和社区').waitFor();

    // Out, and in again with the new password.
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL(/#\/login$/);
    await page.getByRole('textbox', { name: '用户名或手机号' }).fill('wu-nainai');
    await page.getByLabel('密码', { exact: true }).fill('new-password-1');
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL(/#\/resident/, { timeout: 15000 });
    await context.close();

    // English, reached from the log-in page's link.
    const en = await openPage(browser, { viewport: PHONE, locale: 'en-US' });
    await en.page.goto(URL_BASE + '#/login');
    await en.page.getByRole('link', { name: 'set a new password with it' }).click();
    await en.page.getByRole('heading', { name: 'Set a new password' }).waitFor();
    await en.page.getByRole('button', { name: 'Set the password and log in' }).click();
    await en.page.getByText('Please enter the reset code.').waitFor();
    await screenshot(en.page, 'account-reset-en');
    await noAxe(en.page, 'the reset page (en)');
    await en.context.close();
});

test('the console names the regions of its tree', { timeout: 60000 }, async () => {
    const now = Math.floor(Date.now() / 1000);
    await coord.call('task.post', { title: '帮忙取药', skill: 'shopping', lon: 117.061237,
        lat: 36.671913, start: now + 3600, end: now + 7200, region: REGION });
    const { context, page } = await openPage(browser, { viewport: DESK });
    await openAs(page, 'coordinator', '#/console');
    const tree = page.getByRole('navigation', { name: '辖区' });
    await tree.getByRole('button', { name: /^历下区/ }).waitFor({ timeout: 15000 });
    await tree.getByRole('button', { name: /^泉城路街道/ }).waitFor();
    await tree.getByRole('button', { name: /^新和社区/ }).waitFor();
    await screenshot(page, 'account-console-regions-zh');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    const treeEn = page.getByRole('navigation', { name: /regions/i });
    await treeEn.getByRole('button', { name: /^Quancheng Road/ }).waitFor();
    await context.close();
});

// A 1x1 PNG, as a tile server would send (any size will do).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('map tiles of tile-origin are shown under the pages\' policy', { timeout: 60000 }, async () => {
    const { context, page } = await openPage(browser, { viewport: DESK, csp: true });
    let tiles = 0;
    await context.route(`${TILES}/**`, (route) => {
        tiles += 1;
        return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
    });
    await context.route('**/config.json', async (route) => {
        const res = await route.fetch();
        const cfg = await res.json();
        await route.fulfill({ response: res, json: { ...cfg,
            tileUrl: `${TILES}/{z}/{x}/{y}.png`, tileAttribution: 'test tiles' } });
    });
    await page.addInitScript(() => {
        window.__blocked = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__blocked.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const res = await page.goto(URL_BASE + '#/login');
    assert.match(res.headers()['content-security-policy'], /img-src 'self' data: http:\/\/tiles\.test:8080;/);
    await openAs(page, 'coordinator', '#/console');
    await page.getByRole('button', { name: '地图' }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('.leaflet-tile-pane img')]
        .some((i) => i.complete && i.naturalWidth > 0), null, { timeout: 15000 });
    assert.ok(tiles > 0, 'the tile server was asked');
    assert.deepEqual(await page.evaluate(() => window.__blocked), []);
    await context.close();
});
