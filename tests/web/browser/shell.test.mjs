// shell.test.mjs -- the apps' shell in Chromium: the log-in page in
// Chinese (the browser's language) and in English, a wrong password
// said in words, a signed-in person routed to the page of its role, and
// no serious or critical axe-core finding on those pages. Screenshots:
// build/screens/shell-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESK, PHONE, URL_BASE, axeSerious, launch, openAs, openPage,
    screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('log-in page in Chinese, then English; axe finds nothing serious', async () => {
    const { context, page } = await openPage(browser, { viewport: PHONE });
    await page.goto(URL_BASE + '#/login');
    await page.getByRole('heading', { name: '登录' }).waitFor();
    assert.ok(await page.getByLabel('密码', { exact: true }).isVisible());
    await screenshot(page, 'shell-login-zh', { doc: true });
    assert.deepEqual(await axeSerious(page), []);
    await context.close();

    const en = await openPage(browser, { viewport: PHONE, locale: 'en-US' });
    await en.page.goto(URL_BASE + '#/login');
    await en.page.getByRole('heading', { name: /log in/i }).waitFor();
    await screenshot(en.page, 'shell-login-en');
    assert.deepEqual(await axeSerious(en.page), []);
    await en.context.close();
});

test('a wrong password is said in words', async () => {
    const { context, page } = await openPage(browser, { viewport: PHONE });
    await page.goto(URL_BASE + '#/login');
    await page.getByRole('textbox', { name: '城市' }).fill('jinan');
    await page.getByRole('textbox', { name: '用户名或手机号' }).fill('nobody-here');
    await page.getByLabel('密码', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('用户名或密码不对').waitFor({ timeout: 10000 });
    await screenshot(page, 'shell-login-wrong');
    await context.close();
});

test('a signed-in coordinator lands on the console', async () => {
    const { context, page } = await openPage(browser, { viewport: DESK });
    await openAs(page, 'coordinator', '#/');
    await page.waitForURL(/#\/console/, { timeout: 10000 });
    await screenshot(page, 'shell-console-home');
    assert.deepEqual(page._mwErrors || [], []);
    await context.close();
});
