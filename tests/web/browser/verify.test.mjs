// verify.test.mjs -- the public verify page (#/verify) against a real
// wishd: li-lei's service is confirmed and it gets its certificate
// (certificate.issue over the wire); a browser that never logged in
// opens the certificate's link (?verify=CODE&city=jinan) and reads
// "genuine" with the name, period and hours; a code changed in one
// character reads "no such certificate"; a code typed by hand in the
// form (small letters, no dashes) is genuine again; English. axe-core
// on each state. Screenshots: build/screens/verify-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { PHONE, URL_BASE, axeSerious, openPage, screenshot, wireSuite } from './lib.mjs';

const XINHE = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const LON = 117.061237;
const LAT = 36.671913;
const now = () => Math.floor(Date.now() / 1000);

const suite = wireSuite();
const { session } = suite;

// A code with one character changed (still of the code's alphabet).
function forge(code) {
    const last = code.at(-1);
    return code.slice(0, -1) + (last === '7' ? '8' : '7');
}

test('the verify page: a genuine certificate, a forged code, a code typed by hand', { timeout: 120000 }, async () => {
    const coord = await session('coordinator');
    const vol = await session('volunteer');
    await vol.call('volunteer.update', { name: '李雷', skills: ['shopping'], lon: LON, lat: LAT,
        available: false });
    const start = now() + 60;
    const { task_id: task } = await coord.call('task.post', { title: '帮王阿姨买菜', skill: 'shopping',
        lon: LON, lat: LAT, start, end: start + 3600, region: XINHE });
    await coord.call('task.assign', { task_id: task, volunteer_id: 'li-lei' });
    // Two hours served: the check-in put back in Redis (capped at the
    // task's hour).
    execFileSync('redis-cli', ['-p', process.env.WISH_REDIS_PORT, 'HSET',
        `{jinan}:task:${task}:asg`, 'li-lei:in', String(now() - 7200)]);
    const conf = await coord.call('task.confirm', { task_id: task, volunteer_id: 'li-lei' });
    assert.equal(conf.hours, 1);
    const cert = await vol.call('certificate.issue', {});
    assert.match(cert.code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);

    // ---- the certificate's link, in a browser that never logged in
    const { context, page } = await openPage(suite.browser, { viewport: PHONE });
    await page.goto(`${URL_BASE}?verify=${encodeURIComponent(cert.code)}&city=jinan`);
    await page.getByRole('heading', { level: 1, name: '志愿服务证明查验' }).waitFor({ timeout: 15000 });
    assert.match(page.url(), /#\/verify\?code=/);
    const verdict = page.locator('.verdict');
    await verdict.getByText('真实有效').waitFor({ timeout: 15000 });
    const text = await verdict.innerText();
    assert.match(text, /李雷/);
    assert.match(text, /1 小时/);
    assert.match(text, /1 次/);
    assert.ok(text.includes(cert.no), text);
    assert.ok(text.includes(cert.issuer), text);
    assert.equal(await page.getByRole('button', { name: '退出登录' }).isVisible(), false);
    await screenshot(page, 'verify-genuine', { doc: true });
    assert.deepEqual(await axeSerious(page), [], 'axe on genuine');

    // ---- a forged code
    const bad = forge(cert.code);
    await page.goto(`${URL_BASE}#/verify?code=${encodeURIComponent(bad)}&city=jinan`);
    await page.locator('.verdict.bad').getByText('查无此证明').waitFor({ timeout: 15000 });
    assert.match(await page.locator('.verdict').innerText(), new RegExp(bad));
    assert.doesNotMatch(await page.locator('main').innerText(), /李雷/);
    await screenshot(page, 'verify-forged', { doc: true });
    assert.deepEqual(await axeSerious(page), [], 'axe on forged');

    // ---- typed by hand: small letters, no dashes; then empty
    const field = page.getByLabel('查验码');
    await field.fill('');
    await page.getByRole('button', { name: '查验', exact: true }).click();
    await page.getByText('请输入查验码。').waitFor();
    await field.fill(cert.code.replace(/-/g, '').toLowerCase());
    await page.getByRole('button', { name: '查验', exact: true }).click();
    await page.locator('.verdict.ok').getByText('真实有效').waitFor({ timeout: 15000 });

    // ---- English
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Checking a volunteer service certificate' }).waitFor();
    await page.locator('.verdict.ok').getByText('Genuine').waitFor({ timeout: 15000 });
    await screenshot(page, 'verify-genuine-en');
    assert.deepEqual(page._mwErrors || [], []);
    await context.close();
});
