// wishd-flags: --sweep-interval 100000 --rematch-interval 3600
// teams.test.mjs -- volunteer teams (志愿团队) in the apps, against a real
// wishd: the coordinator zhao-coord creates a team in the console (a
// leader nobody has refused in words first) naming li-lei its leader;
// li-lei, on a phone, opens the team's page and invites wang-fang (an
// unknown user name refused in words), whose open page gets the
// invitation live and joins; zhang-wei joins over the wire; the console
// gives a task of two places to the team, and the leader's page gets
// the order live; the leader fills a place: zhang-wei is refused (a
// time clash), wang-fang goes on it (and sees the task on her phone);
// on a second order wang-fang is refused (at max_active). Her service
// confirmed, the team's figures and the boards (the volunteer's and
// the console's) show the team's hours. axe-core on each page; zh and
// en. Screenshots: build/screens/teams-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DESK, PHONE, URL_BASE, axeSerious, openAs, openPage, screenshot,
    wireSuite } from './lib.mjs';

const XINHE = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const DISTRICT = process.env.WISH_DISTRICT || 'jinan/lixia';
const LON = 117.061237;
const LAT = 36.671913;
const now = () => Math.floor(Date.now() / 1000);

const suite = wireSuite();
const { session } = suite;

// A volunteer of the district with an account (an invite redeemed) and
// a profile with the skill "shopping", not available (the matcher offers
// it nothing by itself). Returns {client, login} (login as openAs takes).
async function volunteer(admin, user, name, maxActive) {
    const inv = await admin.call('account.invite', { role: 'volunteer', region: DISTRICT });
    const anon = suite.anon();
    const r = await anon.call('auth.signup', { city: 'jinan', user, name,
        password: `${user}-password`, invite: inv.codes[0] });
    const c = await session({ token: r.token });
    await c.call('volunteer.update', { name, skills: ['shopping'], lon: LON, lat: LAT + 0.002,
        available: false, max_active: maxActive });
    return { client: c, login: { token: r.token, user, role: 'volunteer', region: DISTRICT,
        expires: r.expires } };
}

async function post(coord, title, start, quantity) {
    const r = await coord.call('task.post', { title, skill: 'shopping', lon: LON, lat: LAT,
        start, end: start + 3600, region: XINHE, quantity });
    return r.task_id;
}

async function noAxe(page, what) {
    assert.deepEqual(await axeSerious(page), [], `axe on ${what}`);
}

test('teams: made in the console, joined live, an order filled by its leader on a phone', { timeout: 200000 }, async () => {
    const coord = await session('coordinator');
    const admin = await session('admin');
    const lead = await session('volunteer');
    await lead.call('volunteer.update', { name: '李雷', skills: ['shopping'], lon: LON, lat: LAT,
        available: false, max_active: 5 });
    const fang = await volunteer(admin, 'wang-fang', '王芳', 1);
    const wei = await volunteer(admin, 'zhang-wei', '张伟', 5);

    // ---- the console makes the team (a wrong leader said in words first)
    const desk = await openPage(suite.browser, { viewport: DESK });
    const con = desk.page;
    await openAs(con, 'coordinator', '#/console');
    await con.getByRole('heading', { level: 1, name: '服务中心控制台' }).waitFor({ timeout: 15000 });
    await con.getByRole('button', { name: '志愿团队' }).click();
    const panel = con.locator('#tool-teams');
    await panel.getByText('这个区域还没有志愿团队。').waitFor();
    await panel.getByRole('button', { name: '建立团队' }).click();
    await panel.getByText('请填写团队名称。').waitFor();
    await panel.getByLabel('团队名称').fill('新和帮帮团');
    await panel.getByLabel('简介（可不填）').fill('为新和社区的老人代买代购');
    await panel.getByRole('button', { name: '建立团队' }).click();
    await panel.getByText('请至少选一项服务技能').waitFor();
    await panel.getByRole('checkbox', { name: '代买代购' }).check();
    await panel.getByLabel('队长的用户名（可不填，多个用逗号隔开）').fill('nobody');
    await panel.getByRole('button', { name: '建立团队' }).click();
    await panel.getByText('没有找到这位志愿者（要先有志愿者资料和技能）。').waitFor();
    assert.equal(await panel.locator('li.team-row').count(), 0); // nothing made
    await panel.getByLabel('队长的用户名（可不填，多个用逗号隔开）').fill('li-lei');
    await panel.getByRole('button', { name: '建立团队' }).click();
    const row = panel.locator('li.team-row', { hasText: '新和帮帮团' });
    await row.waitFor();
    assert.match(await row.innerText(), /队长：李雷（li-lei）/);
    const team = await row.getAttribute('data-team');
    assert.match(team, /^G\d+$/);
    await screenshot(con, 'teams-console', { doc: true });
    await noAxe(con, 'the console\'s teams');

    // ---- the member's phone is open: the invitation will come live
    const mctx = await openPage(suite.browser, { viewport: PHONE });
    const mem = mctx.page;
    await openAs(mem, fang.login, '#/volunteer');
    await mem.getByRole('heading', { name: '我的志愿团队' }).waitFor();
    await mem.getByText('您还没有加入志愿团队').waitFor();

    // ---- the leader's phone: my teams, the team's page, an invitation
    const lctx = await openPage(suite.browser, { viewport: PHONE });
    const ph = lctx.page;
    await openAs(ph, 'volunteer', '#/volunteer');
    await ph.getByRole('link', { name: '进入团队：新和帮帮团' }).click();
    await ph.getByRole('heading', { level: 1, name: '新和帮帮团' }).waitFor({ timeout: 15000 });
    await ph.getByText('我是队长').waitFor();
    await ph.getByLabel('志愿者的用户名').fill('nobody');
    await ph.getByRole('button', { name: '发出邀请' }).click();
    await ph.getByText('没有找到用户名为 nobody 的志愿者，请核对后再试。').waitFor();
    await ph.getByLabel('志愿者的用户名').fill('wang-fang');
    await ph.getByRole('button', { name: '发出邀请' }).click();
    await ph.getByText('已邀请 wang-fang，对方同意后就会成为队员。').waitFor();
    await ph.getByText(/wang-fang（.*前有效）/).waitFor();

    // ---- the invitation arrives on her open page; she joins
    const card = mem.locator('li[data-invite]', { hasText: '新和帮帮团' });
    await card.waitFor({ timeout: 10000 });
    assert.match(await card.innerText(), /邀请人：li-lei/);
    await screenshot(mem, 'teams-invite', { doc: true });
    await noAxe(mem, 'an invitation');
    await card.getByRole('button', { name: '加入“新和帮帮团”' }).click();
    await mem.getByText('您已加入“新和帮帮团”。').waitFor();
    await card.waitFor({ state: 'detached' });
    await mem.getByRole('link', { name: '进入团队：新和帮帮团' }).waitFor();
    // The leader's page sees her join (team_member), live.
    await ph.locator('li[data-person="wang-fang"]').waitFor({ timeout: 10000 });

    // zhang-wei joins over the wire.
    await lead.call('team.invite', { team_id: team, volunteer_id: 'zhang-wei' });
    await wei.client.call('team.answer', { team_id: team, accept: true });
    await ph.locator('li[data-person="zhang-wei"]').waitFor({ timeout: 10000 });

    // ---- zhang-wei is busy at the time of the order
    const at = now() + 3 * 3600;
    const busy = await post(coord, '社区读报', at, 1);
    await coord.call('task.assign', { task_id: busy, volunteer_id: 'zhang-wei' });
    const order = await post(coord, '帮独居老人买米面油', at, 2);
    const later = await post(coord, '周末集中采购', at + 4 * 3600, 1);

    // ---- the console gives the order's two places to the team
    await con.getByRole('button', { name: '给“帮独居老人买米面油”派单' }).click({ timeout: 15000 });
    const assign = con.locator('#tool-assign');
    const dispatch = assign.locator('form.team-dispatch');
    await dispatch.getByLabel('团队').locator('option', { hasText: '新和帮帮团' }).waitFor({ state: 'attached' });
    assert.equal(await dispatch.getByLabel('名额').inputValue(), '2');
    await dispatch.getByRole('button', { name: '派给这个团队' }).click();
    await con.locator('.say', { hasText: '已把“帮独居老人买米面油”的 2 个名额派给“新和帮帮团”' }).waitFor();
    await screenshot(con, 'teams-console-dispatch', { doc: true });
    // A second order, over the wire.
    await coord.call('task.assign', { task_id: later, team_id: team, quantity: 1 });

    // ---- the leader's page: the orders come live; filling a place
    const o1 = ph.locator(`li[data-order="${order}"]`);
    await o1.waitFor({ timeout: 10000 });
    await ph.locator(`li[data-order="${later}"]`).waitFor({ timeout: 10000 });
    assert.match(await o1.innerText(), /已安排 0 \/ 2 人/);
    await o1.getByLabel('安排哪位队员').selectOption('zhang-wei');
    await o1.getByRole('button', { name: '安排上岗' }).click();
    await o1.getByText('张伟 那个时间已有别的任务（时间冲突），请换一位队员。').waitFor();
    await screenshot(ph, 'teams-fill-clash');
    await o1.getByLabel('安排哪位队员').selectOption('wang-fang');
    await o1.getByRole('button', { name: '安排上岗' }).click();
    await ph.getByText('已安排 王芳，他（她）会收到任务。').waitFor();
    await ph.locator(`li[data-order="${order}"]`, { hasText: '已安排 1 / 2 人' }).waitFor();
    // She has it on her phone.
    await mem.locator('li.mine', { hasText: '帮独居老人买米面油' }).waitFor({ timeout: 10000 });
    // The second order: she has as many tasks as she takes (max_active 1).
    const o2 = ph.locator(`li[data-order="${later}"]`);
    await o2.getByLabel('安排哪位队员').selectOption('wang-fang');
    await o2.getByRole('button', { name: '安排上岗' }).click();
    await o2.getByText('王芳 手头的任务已经满了，请换一位队员。').waitFor();
    await screenshot(ph, 'teams-page', { doc: true });
    await noAxe(ph, 'the team page');

    // ---- her service confirmed (an hour, the check-in moved back in
    // Redis): the team's figures and the boards show it.
    const port = process.env.WISH_REDIS_PORT;
    assert.ok(port, 'WISH_REDIS_PORT');
    execFileSync('redis-cli', ['-p', port, 'HSET', `{jinan}:task:${order}:asg`,
        'wang-fang:in', String(now() - 3600)]);
    const conf = await coord.call('task.confirm', { task_id: order, volunteer_id: 'wang-fang' });
    assert.equal(conf.hours, 1);
    await ph.reload();
    await ph.getByRole('heading', { level: 1, name: '新和帮帮团' }).waitFor({ timeout: 15000 });
    const figs = ph.locator('dl.stats');
    await figs.getByText('1 小时').waitFor();
    await figs.getByText('1 次').waitFor();
    await ph.getByRole('link', { name: '返回我的页面' }).click();
    const board = ph.locator('ol.teams-league');
    await board.getByText('新和帮帮团 · 1 小时').waitFor({ timeout: 15000 });
    await con.getByRole('button', { name: '统计与排行' }).click();
    await con.locator('table.teams-rank', { hasText: '新和帮帮团' }).waitFor({ timeout: 15000 });

    // ---- English
    await ph.goto(`${URL_BASE}#/team?id=${team}`);
    await ph.getByRole('button', { name: 'Switch to English' }).click();
    await ph.getByRole('heading', { level: 2, name: "The team's tasks" }).waitFor();
    await ph.getByText('All time: 1 h, 1 services').waitFor();
    await screenshot(ph, 'teams-page-en');
    assert.deepEqual(ph._mwErrors || [], []);
    assert.deepEqual(mem._mwErrors || [], []);
    assert.deepEqual(con._mwErrors || [], []);
    await Promise.all([desk.context.close(), mctx.context.close(), lctx.context.close()]);
});
