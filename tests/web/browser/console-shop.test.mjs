// wishd-flags: --sweep-interval 100000 --rematch-interval 3600
// console-shop.test.mjs -- the station staff's side of the credit
// supermarket (积分超市) and of service certificates in the console,
// against a real wishd: li-lei earns points with a confirmed task
// (through the API); the coordinator zhao-coord shelves an item in the
// console (a price out of range refused in words first, nothing made);
// li-lei redeems two through the API; at the desk the coordinator types
// the first receipt's number with a wrong code (refused in words,
// nothing collected), then the right one (collected; a second try
// refused: already collected); refunds the second after the confirm step
// (balance and stock back, as the API says). Then issues li-lei's
// service certificate in the console: a volunteer out of nowhere
// refused in words, li-lei's download a PDF. axe-core on each step.
// Screenshots: build/screens/console-shop-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DESK, axeSerious, openAs, openPage, screenshot, wireSuite } from './lib.mjs';

const XINHE = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const LON = 117.061237;
const LAT = 36.671913;
const ITEM = '环保购物袋';
const now = () => Math.floor(Date.now() / 1000);

const suite = wireSuite();
const { session } = suite;

async function noAxe(page, what) {
    assert.deepEqual(await axeSerious(page), [], `axe on ${what}`);
}

test('console: shelving, collecting with the code, refunding, a certificate', { timeout: 180000 }, async () => {
    const coord = await session('coordinator');
    const vol = await session('volunteer');

    // ---- li-lei earns points: a task served 8 hours, confirmed
    await vol.call('volunteer.update', { name: '李雷', skills: ['shopping'], lon: LON, lat: LAT,
        available: false, max_active: 5 });
    const start = now() + 3600;
    const task = (await coord.call('task.post', { title: '社区环境整治', skill: 'shopping', lon: LON, lat: LAT,
        start, end: start + 8 * 3600, region: XINHE, quantity: 1 })).task_id;
    await coord.call('task.assign', { task_id: task, volunteer_id: 'li-lei' });
    const port = process.env.WISH_REDIS_PORT;
    assert.ok(port, 'WISH_REDIS_PORT');
    execFileSync('redis-cli', ['-p', port, 'HSET', `{jinan}:task:${task}:asg`,
        'li-lei:in', String(now() - 8 * 3600)]);
    const conf = await coord.call('task.confirm', { task_id: task, volunteer_id: 'li-lei' });
    const earned = (await vol.call('ledger.list', { limit: 1 })).balance;
    assert.ok(earned >= 2, `li-lei earned ${earned} points (confirm: ${JSON.stringify(conf)})`);

    // ---- the console: an item shelved (a bad price refused in words)
    const desk = await openPage(suite.browser, { viewport: DESK });
    const con = desk.page;
    await openAs(con, 'coordinator', '#/console');
    await con.getByRole('heading', { level: 1, name: '服务中心控制台' }).waitFor({ timeout: 15000 });
    await con.getByRole('button', { name: '积分超市' }).click();
    const panel = con.locator('#tool-shop');
    await panel.getByText('这个区域的货架上还没有物品。').waitFor({ timeout: 15000 });
    await panel.getByLabel('物品名称').fill(ITEM);
    await panel.getByLabel('价格（积分）').fill('0');
    await panel.getByLabel('库存（件）').fill('5');
    await panel.getByLabel('领取点').fill('新和社区服务站一楼');
    await panel.getByRole('button', { name: '上架', exact: true }).click();
    await panel.getByText('价格要是 1 到 100000 之间的整数积分。').waitFor();
    assert.equal((await coord.call('shop.list', {})).length, 0); // nothing made
    await panel.getByLabel('价格（积分）').fill('1');
    await panel.getByRole('button', { name: '上架', exact: true }).click();
    await con.locator('.say', { hasText: `已上架“${ITEM}”。` }).waitFor();
    const row = panel.locator('li.shop-row', { hasText: ITEM });
    await row.waitFor();
    assert.match(await row.innerText(), /1 积分 · 库存 5 件/);
    const item = await row.getAttribute('data-item');
    assert.match(item, /^I\d+$/);
    // stock edited to 3
    await row.getByLabel('库存（件）').fill('3');
    await row.getByRole('button', { name: `保存“${ITEM}”的价格和库存` }).click();
    await con.locator('.say', { hasText: `已更新“${ITEM}”：1 积分，库存 3 件。` }).waitFor();
    await panel.locator('li.shop-row', { hasText: '库存 3 件' }).waitFor();
    const stockOf = async () => (await coord.call('shop.list', {})).find((x) => x.item_id === item).stock;
    assert.equal(await stockOf(), 3);
    await screenshot(con, 'console-shop-items', { doc: true });
    assert.doesNotMatch(await panel.innerText(), /null|undefined|\[object/);
    await noAxe(con, 'the shop tool');

    // ---- li-lei redeems two
    const r1 = await vol.call('shop.redeem', { item_id: item });
    const r2 = await vol.call('shop.redeem', { item_id: item });
    assert.match(r1.code, /^[0-9]{6}$/);
    assert.equal(await stockOf(), 1);
    const afterTwo = (await vol.call('ledger.list', { limit: 1 })).balance;
    assert.equal(afterTwo, earned - 2);

    // ---- the desk: a wrong code refused in words, then the right one
    const wrong = r1.code === '000000' ? '111111' : '000000';
    await panel.getByLabel('凭证编号').fill(r1.receipt_id.toLowerCase());
    await panel.getByLabel('领取码').fill(wrong);
    await panel.getByRole('button', { name: '核对领取码，标记已领取' }).click();
    await panel.locator('.field-error', { hasText: '领取码不对' }).waitFor();
    await screenshot(con, 'console-shop-wrong-code');
    const held = (await vol.call('shop.receipts', {})).receipts.find((x) => x.receipt_id === r1.receipt_id);
    assert.equal(held.status, 'held');
    await panel.getByLabel('领取码').fill(r1.code);
    await panel.getByRole('button', { name: '核对领取码，标记已领取' }).click();
    await con.locator('.say', { hasText: `${r1.receipt_id} 已领取：${ITEM}（志愿者 li-lei）。` }).waitFor();
    const got = (await vol.call('shop.receipts', {})).receipts.find((x) => x.receipt_id === r1.receipt_id);
    assert.equal(got.status, 'collected');
    // the same receipt again: already collected, in words
    await panel.getByLabel('凭证编号').fill(r1.receipt_id);
    await panel.getByLabel('领取码').fill(r1.code);
    await panel.getByRole('button', { name: '核对领取码，标记已领取' }).click();
    await panel.locator('.field-error', { hasText: '这张兑换凭证已经领取过或已退还，不能再操作。' }).waitFor();

    // ---- the second refunded after the confirm step
    await panel.getByLabel('凭证编号').fill(r2.receipt_id);
    await panel.getByRole('button', { name: '退还这次兑换' }).click();
    const dlg = con.locator('dialog.ask');
    await dlg.getByText(`退还兑换 ${r2.receipt_id}？`).waitFor();
    await screenshot(con, 'console-shop-refund', { doc: true });
    await noAxe(con, 'the refund confirm');
    assert.equal(await stockOf(), 1); // nothing before the confirm
    await dlg.getByLabel('退还原因（可不填）').fill('志愿者改换别的物品');
    await dlg.getByRole('button', { name: '确认退还' }).click();
    await con.locator('.say', { hasText: `${r2.receipt_id} 已退还：${ITEM}，1 积分已退回志愿者 li-lei。` }).waitFor();
    assert.equal(await stockOf(), 2);
    assert.equal((await vol.call('ledger.list', { limit: 1 })).balance, earned - 1);
    await panel.locator('li.shop-row', { hasText: '库存 2 件' }).waitFor();

    // ---- a certificate: nobody refused in words, li-lei's a PDF
    await con.getByRole('button', { name: '服务证明' }).click();
    const cert = con.locator('#tool-cert');
    await cert.getByLabel('志愿者的用户名').fill('no-such-person');
    await cert.getByRole('button', { name: '开具服务证明' }).click();
    await cert.getByText('没有这位志愿者，请核对用户名。').first().waitFor({ timeout: 15000 });
    await cert.getByLabel('志愿者的用户名').fill('li-lei');
    const [download] = await Promise.all([
        con.waitForEvent('download', { timeout: 30000 }),
        cert.getByRole('button', { name: '开具服务证明' }).click(),
    ]);
    const pdf = await readFile(await download.path());
    assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
    assert.match(download.suggestedFilename(), /^certificate-jinan-\d+\.pdf$/);
    await cert.getByText(/已下载证明 jinan-\d+：李雷/).waitFor();
    await screenshot(con, 'console-shop-cert', { doc: true });
    assert.doesNotMatch(await cert.innerText(), /null|undefined|\[object/);
    await noAxe(con, 'the certificate tool');
    assert.deepEqual(con._mwErrors || [], []);
    await desk.context.close();
});
