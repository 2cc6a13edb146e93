// wishd-flags: --sweep-interval 100000 --rematch-interval 3600
// projects.test.mjs -- projects and caring partners (项目认领, 爱心伙伴) in
// the apps, against a real wishd: the coordinator zhao-coord publishes a
// project in the console (a budget left empty refused in words first)
// and names its team; the caring partner 鲁信公益基金 signs in with the
// log-in form, lands on its page, finds the project open for adoption,
// is refused a pledge out of range in words, confirms a pledge of 50 000
// yuan and adopts it, while the console gets project_adopted live; a
// second partner whose page was open on the same project is refused in
// words (adopted already). A task posted over the wire is linked to the
// project from its row in the console, another posted in the console
// with the project chosen; the first served, confirmed and rated; the
// partner's report (all its projects, and the project's own) shows the
// hours credited, equal to what project.report says, and the console's
// statistics show the region's adoption figures. English; axe-core on
// each page. Screenshots: build/screens/projects-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DESK, PHONE, URL_BASE, axeSerious, openAs, openPage, screenshot,
    wireSuite } from './lib.mjs';

const XINHE = process.env.WISH_REGION || 'jinan/lixia/quancheng/xinhe';
const DISTRICT = process.env.WISH_DISTRICT || 'jinan/lixia';
const LON = 117.061237;
const LAT = 36.671913;
const TITLE = '新和社区助老送餐';
const now = () => Math.floor(Date.now() / 1000);

const suite = wireSuite();
const { session } = suite;

// A caring partner of the district with an account (an invite redeemed):
// {client, login (as openAs takes), password}.
async function partner(admin, user, name) {
    const inv = await admin.call('account.invite', { role: 'partner', region: DISTRICT });
    const anon = suite.anon();
    const password = `${user}-password`;
    const r = await anon.call('auth.signup', { city: 'jinan', user, name, password, invite: inv.codes[0] });
    assert.equal(r.role, 'partner');
    const c = await session({ token: r.token });
    return { client: c, password, login: { token: r.token, user, role: 'partner', region: DISTRICT,
        expires: r.expires } };
}

async function noAxe(page, what) {
    assert.deepEqual(await axeSerious(page), [], `axe on ${what}`);
}

test('projects: published in the console, adopted by a caring partner, its report', { timeout: 220000 }, async () => {
    const coord = await session('coordinator');
    const admin = await session('admin');
    const resident = await session('resident');
    const lead = await session('volunteer');
    await lead.call('volunteer.update', { name: '李雷', skills: ['shopping'], lon: LON, lat: LAT,
        available: false, max_active: 5 });
    const g = await coord.call('team.create', { name: '新和帮帮团', region: DISTRICT, skills: ['shopping'],
        leaders: ['li-lei'] });
    const luxin = await partner(admin, 'luxin', '鲁信公益基金');
    const quan = await partner(admin, 'quanshui', '泉水科技');

    // ---- the console publishes the project and names its team
    const desk = await openPage(suite.browser, { viewport: DESK });
    const con = desk.page;
    await openAs(con, 'coordinator', '#/console');
    await con.getByRole('heading', { level: 1, name: '服务中心控制台' }).waitFor({ timeout: 15000 });
    await con.getByRole('button', { name: '项目认领' }).click();
    const panel = con.locator('#tool-projects');
    await panel.getByText('这个区域还没有发布项目。').waitFor();
    await panel.getByLabel('项目名称').fill(TITLE);
    await panel.getByLabel('项目介绍').fill('为新和社区 80 岁以上的独居老人每天送一顿热午餐，志愿者上门送餐并陪老人聊聊天。');
    await panel.getByRole('button', { name: '发布项目' }).click();
    await panel.getByText('所需资金要是 0 到 100000000 之间的整数（元）。').waitFor();
    assert.equal(await panel.locator('li.proj-row').count(), 0); // nothing made
    await panel.getByLabel('所需资金（元）').fill('80000');
    await panel.getByRole('button', { name: '发布项目' }).click();
    await con.locator('.say', { hasText: `已发布项目“${TITLE}”` }).waitFor();
    const row = panel.locator('li.proj-row', { hasText: TITLE });
    await row.waitFor();
    const project = await row.getAttribute('data-project');
    assert.match(project, /^P\d+$/);
    assert.match(await row.innerText(), /待认领/);
    await row.getByLabel('执行团队').selectOption(g.team_id);
    await row.getByRole('button', { name: `指定“${TITLE}”的执行团队` }).click();
    await con.locator('.say', { hasText: `已指定“新和帮帮团”执行项目“${TITLE}”。` }).waitFor();
    await panel.locator('li.proj-row', { hasText: '执行团队：新和帮帮团' }).waitFor();
    assert.equal((await coord.call('project.get', { project_id: project })).team.team_id, g.team_id);
    await screenshot(con, 'projects-console', { doc: true });
    assert.doesNotMatch(await panel.innerText(), /null|undefined|\[object/);
    await noAxe(con, 'the console\'s projects');

    // ---- the second partner's page is open on the project already
    const qctx = await openPage(suite.browser, { viewport: PHONE });
    const qp = qctx.page;
    // (openAs's page is signed out until its reload: a deep link given to
    // it may be sent to #/login, then home, first; so home, then the link)
    await openAs(qp, quan.login, '#/partner');
    await qp.getByRole('heading', { level: 1, name: '爱心伙伴' }).waitFor({ timeout: 15000 });
    await qp.goto(`${URL_BASE}#/partner?project=${project}`);
    await qp.getByRole('heading', { level: 1, name: new RegExp(TITLE) }).waitFor({ timeout: 15000 });
    await qp.getByRole('heading', { level: 2, name: '认领这个项目' }).waitFor();

    // ---- the caring partner signs in as anyone does, lands on its page
    const pctx = await openPage(suite.browser, { viewport: PHONE });
    const ph = pctx.page;
    await ph.goto(`${URL_BASE}#/login`);
    await ph.getByLabel('用户名或手机号').fill('luxin');
    await ph.getByLabel('密码').fill(luxin.password);
    await ph.getByRole('button', { name: '登录' }).click();
    await ph.getByRole('heading', { level: 1, name: '爱心伙伴' }).waitFor({ timeout: 15000 });
    assert.equal(new URL(ph.url()).hash, '#/partner');
    await ph.getByText('鲁信公益基金，感谢您对志愿服务的支持').waitFor();
    await ph.getByText('您还没有认领项目').waitFor();
    const card = ph.locator(`li[data-project="${project}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), /80,000 元/);
    assert.match(await card.innerText(), /新和帮帮团/);
    await screenshot(ph, 'projects-partner-home', { doc: true });
    assert.doesNotMatch(await ph.locator('main').innerText(), /null|undefined|\[object/);
    await noAxe(ph, 'the partner\'s home');

    // ---- its page; a pledge out of range refused in words; adopting
    await card.getByRole('link', { name: `查看项目：${TITLE}` }).click();
    await ph.getByRole('heading', { level: 1, name: new RegExp(TITLE) }).waitFor({ timeout: 15000 });
    await ph.getByText('为新和社区 80 岁以上的独居老人').waitFor();
    const pledge = ph.getByLabel('认捐金额（元）');
    const bad = ph.getByText('请填写 1 到 100000000 之间的整数金额（单位：元），不要带小数点或逗号。');
    await pledge.fill('200000000');
    await ph.getByRole('button', { name: '下一步：确认认领' }).click();
    await bad.waitFor();
    assert.equal(await pledge.getAttribute('aria-invalid'), 'true');
    await pledge.fill('5万');
    await ph.getByRole('button', { name: '下一步：确认认领' }).click();
    await bad.waitFor();
    await pledge.fill('50000');
    await ph.getByLabel('留言（可不填）').fill('支持社区老人吃上热饭');
    await ph.getByRole('button', { name: '下一步：确认认领' }).click();
    await ph.getByText(`鲁信公益基金 认领项目“${TITLE}”，承诺捐助 50,000 元。认领后不能撤回，确定吗？`).waitFor();
    await screenshot(ph, 'projects-partner-confirm', { doc: true });
    await noAxe(ph, 'the confirm step');
    // nothing is adopted before the confirm
    assert.equal((await coord.call('project.get', { project_id: project })).status, 'published');
    await ph.getByRole('button', { name: '确认认领' }).click();
    await ph.getByText('认领成功！感谢 鲁信公益基金 的爱心').waitFor();
    await ph.getByRole('heading', { level: 2, name: '项目报告' }).waitFor();
    await ph.getByText(/这是贵单位认领的项目，认捐 50,000 元/).waitFor();
    const adopted = await coord.call('project.get', { project_id: project });
    assert.equal(adopted.status, 'adopted');
    assert.equal(adopted.pledge, 50000);
    assert.equal(adopted.partner.id, 'luxin');

    // ---- the console: project_adopted, live
    await con.locator('ol.changes', { hasText: `“${TITLE}”由 鲁信公益基金 认领，认捐 50,000 元` })
        .waitFor({ timeout: 10000 });
    await con.locator('.say', { hasText: `好消息：鲁信公益基金 认领了项目“${TITLE}”` }).waitFor();
    await panel.locator('li.proj-row', { hasText: '爱心伙伴：鲁信公益基金，认捐 50,000 元' }).waitFor();

    // ---- the second partner is refused in words: adopted already
    await qp.getByLabel('认捐金额（元）').fill('30000');
    await qp.getByRole('button', { name: '下一步：确认认领' }).click();
    await qp.getByRole('button', { name: '确认认领' }).click();
    await qp.getByText('这个项目刚刚已经被别的爱心伙伴认领了，不能再认领。').waitFor();
    await qp.getByText('已由 鲁信公益基金 认领').waitFor();
    assert.equal(await qp.getByRole('heading', { name: '认领这个项目' }).count(), 0);
    assert.equal((await coord.call('project.get', { project_id: project })).pledge, 50000);
    await screenshot(qp, 'projects-partner-taken', { doc: true });
    await noAxe(qp, 'a refused adoption');

    // ---- a task linked from its row in the console, served, confirmed
    const start = now() + 2 * 3600;
    const task = (await coord.call('task.post', { title: '为独居老人送午餐', skill: 'shopping', lon: LON, lat: LAT,
        start, end: start + 3600, region: XINHE, quantity: 1 })).task_id;
    await con.getByRole('button', { name: '把“为独居老人送午餐”归入项目' }).click({ timeout: 15000 });
    await panel.getByText(`任务：“为独居老人送午餐”（${task}`).waitFor();
    assert.equal(await panel.getByLabel('归入哪个项目').inputValue(), project);
    await screenshot(con, 'projects-console-link', { doc: true });
    await noAxe(con, 'linking a task');
    await panel.getByRole('button', { name: '归入这个项目' }).click();
    await con.locator('.say', { hasText: `已把“为独居老人送午餐”归入项目“${TITLE}”。` }).waitFor();
    await con.locator(`tr[data-task="${task}"]`, { hasText: `项目 ${project}` }).waitFor();
    assert.equal(await con.getByRole('button', { name: '把“为独居老人送午餐”归入项目' }).count(), 0);
    assert.equal((await coord.call('task.get', { task_id: task })).project_id, project);

    // ---- a task posted in the console with the project chosen
    await con.getByRole('button', { name: '发布任务', exact: true }).click();
    const post = con.locator('#tool-post');
    await post.getByLabel('归入项目（可不填）').locator('option', { hasText: TITLE })
        .waitFor({ state: 'attached', timeout: 10000 });
    await post.getByLabel('任务名称').fill('陪老人吃午饭');
    await post.getByLabel('服务项目').selectOption('shopping');
    await post.getByLabel('社区').fill(XINHE);
    await post.getByLabel('归入项目（可不填）').selectOption(project);
    await post.getByRole('button', { name: '发布这个任务' }).click();
    const posted = con.locator('.say', { hasText: /已发布 T\d+：陪老人吃午饭/ });
    await posted.waitFor();
    const second = (await posted.innerText()).match(/已发布 (T\d+)/)[1];
    assert.equal((await coord.call('task.get', { task_id: second })).project_id, project);
    await con.locator(`tr[data-task="${second}"]`, { hasText: `项目 ${project}` }).waitFor({ timeout: 10000 });
    assert.equal((await coord.call('project.get', { project_id: project })).linked, 2);

    await coord.call('task.assign', { task_id: task, volunteer_id: 'li-lei' });
    const port = process.env.WISH_REDIS_PORT;
    assert.ok(port, 'WISH_REDIS_PORT');
    execFileSync('redis-cli', ['-p', port, 'HSET', `{jinan}:task:${task}:asg`,
        'li-lei:in', String(now() - 3600)]);
    const conf = await coord.call('task.confirm', { task_id: task, volunteer_id: 'li-lei' });
    assert.equal(conf.hours, 1);
    await resident.call('task.rate', { task_id: task, volunteer_id: 'li-lei', stars: 5 });

    // ---- the partner's report: the hours credited, as the API says
    const rep = await luxin.client.call('project.report');
    assert.equal(rep.figures.hours, conf.hours);
    assert.equal(rep.pledged, 50000);
    await ph.goto(`${URL_BASE}#/partner`);
    const tiles = ph.locator('section.report dl.ptiles');
    await tiles.locator('[data-fig="hours"] dd', { hasText: `${rep.figures.hours} 小时` }).waitFor({ timeout: 15000 });
    assert.equal(await tiles.locator('[data-fig="hours"] dd').innerText(), `${rep.figures.hours} 小时`);
    assert.equal(await tiles.locator('[data-fig="services"] dd').innerText(), '1 人次');
    assert.equal(await tiles.locator('[data-fig="volunteers"] dd').innerText(), '1 人');
    assert.equal(await tiles.locator('[data-fig="tasks_done"] dd').innerText(), '1 项'); // of 2 linked
    assert.equal(await tiles.locator('[data-fig="pledged"] dd').innerText(), '50,000 元');
    assert.match(await tiles.locator('[data-fig="rating"] dd').innerText(), /^5 星（1 条评价）$/);
    await ph.locator(`li[data-project="${project}"]`, { hasText: '1 小时' }).waitFor();
    await screenshot(ph, 'projects-partner-report', { doc: true });
    assert.doesNotMatch(await ph.locator('main').innerText(), /null|undefined|\[object/);
    await noAxe(ph, 'the partner\'s report');
    // the project's own report
    await ph.getByRole('link', { name: `查看项目报告：${TITLE}` }).click();
    const ptiles = ph.locator('section.report dl.ptiles');
    await ptiles.locator('[data-fig="hours"] dd', { hasText: '1 小时' }).waitFor({ timeout: 15000 });
    const one = await luxin.client.call('project.report', { project_id: project });
    assert.equal(one.figures.hours, 1);
    await ph.locator(`.ptasks li[data-task="${task}"]`, { hasText: '已完成' }).waitFor();
    await screenshot(ph, 'projects-partner-project');
    await noAxe(ph, 'a project\'s report');

    // ---- the console's statistics: the region's adoption figures
    await con.getByRole('button', { name: '统计与排行' }).click();
    const adoption = con.locator('.adoption-body');
    // The panel may still show an earlier load's figures (painted when the
    // console first opened it, before the project): wait for this one's.
    await adoption.locator('dl.figures dd', { hasText: '1 个' }).first()
        .waitFor({ timeout: 15000 });
    const a = await coord.call('project.adoption', { region: DISTRICT });
    assert.deepEqual([a.published, a.adopted, a.partners, a.pledged], [1, 1, 1, 50000]);
    const text = await adoption.innerText();
    assert.match(text, /发布项目\s*1 个/);
    assert.match(text, /已被认领\s*1 个/);
    assert.match(text, /爱心伙伴\s*1 家/);
    assert.match(text, /认捐金额\s*50,000 元/);
    assert.match(text, /志愿服务时长\s*1 小时/);
    await screenshot(con, 'projects-console-stats', { doc: true });
    await noAxe(con, 'the console\'s statistics');

    // ---- English
    await ph.goto(`${URL_BASE}#/partner`);
    await ph.getByRole('button', { name: 'Switch to English' }).click();
    await ph.getByRole('heading', { level: 2, name: 'Impact report' }).waitFor();
    await ph.locator('section.report [data-fig="hours"] dd', { hasText: '1 h' }).waitFor();
    await ph.locator('section.report [data-fig="pledged"] dd', { hasText: '¥50,000' }).waitFor();
    await screenshot(ph, 'projects-partner-en');
    await noAxe(ph, 'the partner\'s page in English');

    // a post not linked yet, so that a row has its button in English too
    await coord.call('task.post', { title: '社区义诊', skill: 'shopping', lon: LON, lat: LAT,
        start: start + 3600, end: start + 7200, region: XINHE, quantity: 1 });
    await con.getByRole('button', { name: '把“社区义诊”归入项目' }).waitFor({ timeout: 10000 });
    await con.getByRole('button', { name: 'Switch to English' }).click();
    await con.getByRole('heading', { level: 1, name: "Service centre's console" }).waitFor();
    await con.getByRole('button', { name: 'Link to a project: "社区义诊"' }).waitFor({ timeout: 10000 });
    await con.getByRole('button', { name: 'Projects', exact: true }).click();
    await con.locator('#tool-projects li.proj-row', { hasText: 'Caring partner: 鲁信公益基金, pledging ¥50,000' })
        .waitFor({ timeout: 10000 });
    await screenshot(con, 'projects-console-en');
    await noAxe(con, 'the console\'s projects in English');

    assert.deepEqual(ph._mwErrors || [], []);
    assert.deepEqual(qp._mwErrors || [], []);
    assert.deepEqual(con._mwErrors || [], []);
    await Promise.all([desk.context.close(), pctx.context.close(), qctx.context.close()]);
});
