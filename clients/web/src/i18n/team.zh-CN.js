// The words of the volunteer's teams on its page (my teams, invitations,
// team news), the board's teams and the headings the lazy pages show
// at once, in Chinese. Keys are shared with team.en.js; registered in
// index.js. The team page's and the console's team words are in
// teams.lazy.*.js, the verify page's in verify.lazy.*.js.
export default {
    'team.mine.title': '我的志愿团队',
    'team.mine.none': '您还没有加入志愿团队。队长邀请您时，邀请会出现在这里。',
    'team.mine.open': '进入团队：{name}',
    'team.mine.members': '{n} 名队员',
    'team.iLead': '我是队长',
    'team.invite.title': '团队邀请',
    'team.invite.text': '“{name}”邀请您加入（{place}）。',
    'team.invite.by': '邀请人：{by}，请在 {until} 前回复。',
    'team.invite.accept': '加入“{name}”',
    'team.invite.decline': '不加入',
    'team.invite.joined': '您已加入“{name}”。',
    'team.invite.declined': '您没有加入“{name}”。',
    'team.invite.gone': '这个邀请已经过期或被撤回了。',
    'team.invite.full': '您已加入 5 个团队，不能再加入了；或者这个团队已经满员。',
    'team.news.order': '“{name}”接到新任务：{title}，请到团队页面安排队员。',
    'team.news.removed': '您已不在一个团队里了（队长或服务中心把您移出了）。',
    'team.loading': '正在读取团队…',
    'team.back': '返回我的页面',
    'team.page.title': '志愿团队',
    'team.board': '团队榜',
    'verify.title': '志愿服务证明查验',
};
