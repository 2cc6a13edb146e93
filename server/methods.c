/* methods.c -- the method table and the dispatcher; see methods.h. */
#include "server/methods.h"

#include <stdio.h>
#include <string.h>

#include "server/auth.h"
#include "server/certificate.h"
#include "server/log.h"
#include "server/fcall.h"
#include "server/ratelimit.h"
#include "server/session.h"
#include "server/sweeper.h"
#include "server/watch.h"

#define STAFF (ROLE_COORDINATOR | ROLE_ADMIN)
#define ASKERS (ROLE_RESIDENT | STAFF) /* those who create tasks */
#define PARTNER ROLE_PARTNER            /* a caring enterprise (爱心伙伴) */

/* The last column is what a call takes from its rate-limit buckets, in
 * units of a simple write: reads whose Redis work is several writes'
 * worth take more (a task.nearby reads up to nearby-max-examined tasks,
 * a queue snapshot up to 500, stats up to 1 000 samples and 1 000
 * tasks), so that a user's budget bounds its Redis time, not just its
 * request count. */
static const method_def method_table[] = {
    /* session, any role */
    {"ping", session_ping, NULL, ROLE_ANY, 0, 1},
    {"hello", session_hello, NULL, ROLE_ANY, 0, 1},
    {"me", NULL, "wish_me", ROLE_ANY, 1, 1},
    {"ack", session_ack, NULL, ROLE_ANY, 1, 1},
    {"task.get", NULL, "wish_task_get", ROLE_ANY, 1, 1},
    {"notify.set", NULL, "wish_notify_set", ROLE_ANY, 1, 1},
    /* residents (群众点单) */
    {"wish.submit", NULL, "wish_wish_submit", ROLE_RESIDENT, 1, 1},
    {"wish.list", NULL, "wish_wish_list", ROLE_RESIDENT, 1, 2},
    {"task.cancel", NULL, "wish_task_cancel", ASKERS, 1, 1},
    {"task.confirm", NULL, "wish_task_confirm", ASKERS, 1, 1},
    {"task.rate", NULL, "wish_task_rate", ROLE_RESIDENT, 1, 1},
    {"menu.list", NULL, "wish_menu_list", ROLE_RESIDENT | ROLE_ADMIN, 1, 2},
    {"menu.order", NULL, "wish_menu_order", ROLE_RESIDENT, 1, 1},
    {"board", NULL, "wish_board", ROLE_ANY, 1, 2},
    {"skills", NULL, "wish_skills", ROLE_ANY, 1, 2},
    /* volunteers (志愿领单) */
    {"volunteer.update", NULL, "wish_volunteer_update", ROLE_VOLUNTEER, 1, 1},
    {"task.nearby", NULL, "wish_task_nearby", ROLE_VOLUNTEER, 1, 5},
    {"task.mine", NULL, "wish_task_mine", ROLE_VOLUNTEER, 1, 2},
    {"task.claim", NULL, "wish_task_claim", ROLE_VOLUNTEER, 1, 1},
    {"offer.accept", NULL, "wish_offer_accept", ROLE_VOLUNTEER, 1, 1},
    {"offer.decline", NULL, "wish_offer_decline", ROLE_VOLUNTEER, 1, 1},
    {"task.checkin", NULL, "wish_task_checkin", ROLE_VOLUNTEER, 1, 1},
    {"task.checkout", NULL, "wish_task_checkout", ROLE_VOLUNTEER, 1, 1},
    /* coordinators (中心制单, 点单派单) */
    {"task.post", NULL, "wish_task_post", STAFF, 1, 1},
    {"wish.review", NULL, "wish_wish_review", STAFF, 1, 1},
    {"task.assign", NULL, "wish_task_assign", STAFF, 1, 1},
    {"menu.post", NULL, "wish_menu_post", STAFF, 1, 1},
    {"stats", NULL, "wish_stats", STAFF, 1, 10},
    {"queue.watch", watch_queue_watch, NULL, STAFF, 1, 10},
    {"queue.unwatch", watch_queue_unwatch, NULL, STAFF, 1, 1},
    /* admins: the city's skill catalogue is the whole city's, above any
     * coordinator's scope */
    {"skill.define", NULL, "wish_skill_define", ROLE_ADMIN, 1, 1},
    /* accounts (注册招募): before hello; each checks a password in a
     * worker thread, the costliest thing a stranger can ask for */
    {"auth.login", auth_login, NULL, ROLE_ANY, 0, 10},
    {"auth.signup", auth_signup, NULL, ROLE_ANY, 0, 10},
    {"auth.reset", auth_reset, NULL, ROLE_ANY, 0, 10},
    /* an account's own */
    {"auth.refresh", auth_refresh, NULL, ROLE_ANY, 1, 1},
    {"auth.logout", auth_logout, NULL, ROLE_ANY, 1, 1},
    {"auth.logout_all", auth_logout_all, NULL, ROLE_ANY, 1, 1},
    {"account.me", NULL, "wish_account_me", ROLE_ANY, 1, 1},
    {"account.update", auth_account_update, NULL, ROLE_ANY, 1, 10},
    /* recruiting and managing accounts */
    {"account.invite", auth_account_invite, NULL, STAFF, 1, 2},
    {"account.list", NULL, "wish_account_list", STAFF, 1, 10},
    {"account.review", NULL, "wish_account_review", STAFF, 1, 1},
    {"account.disable", NULL, "wish_account_disable", STAFF, 1, 1},
    {"account.enable", NULL, "wish_account_enable", STAFF, 1, 1},
    {"account.reset", auth_account_reset, NULL, STAFF, 1, 1},
    {"signup.open", NULL, "wish_signup_open", ROLE_ADMIN, 1, 1},
    /* points: a volunteer's ledger, and the credit supermarket (积分超市):
     * staff stock its shelves and close receipts at the station,
     * volunteers redeem (matcher/lua/45_ledger.lua, 57_shop.lua) */
    {"ledger.list", NULL, "wish_ledger_list", ROLE_VOLUNTEER, 1, 2},
    {"shop.list", NULL, "wish_shop_list", ROLE_VOLUNTEER | STAFF, 1, 2},
    {"shop.redeem", NULL, "wish_shop_redeem", ROLE_VOLUNTEER, 1, 1},
    {"shop.receipts", NULL, "wish_shop_receipts", ROLE_VOLUNTEER, 1, 2},
    {"shop.item.post", NULL, "wish_shop_item_post", STAFF, 1, 1},
    {"shop.item.edit", NULL, "wish_shop_item_edit", STAFF, 1, 1},
    {"shop.collect", NULL, "wish_shop_collect", STAFF, 1, 1},
    {"shop.refund", NULL, "wish_shop_refund", STAFF, 1, 1},
    /* teams (志愿团队): staff make them and name leaders, leaders (who
     * are volunteers) invite and fill, anyone reads them; the finer
     * rules (which leader, which scope) are the Lua's. A list or a get
     * reads up to ~10 hashes a team: cost 2. */
    {"team.create", NULL, "wish_team_create", STAFF, 1, 1},
    {"team.leader", NULL, "wish_team_leader", STAFF, 1, 1},
    {"team.invite", NULL, "wish_team_invite", ROLE_VOLUNTEER, 1, 1},
    {"team.answer", NULL, "wish_team_answer", ROLE_VOLUNTEER, 1, 1},
    {"team.remove", NULL, "wish_team_remove", ROLE_VOLUNTEER | STAFF, 1, 1},
    {"team.fill", NULL, "wish_team_fill", ROLE_VOLUNTEER, 1, 1},
    {"team.list", NULL, "wish_team_list", ROLE_ANY, 1, 2},
    {"team.get", NULL, "wish_team_get", ROLE_ANY, 1, 2},
    /* held team places go back (docs/protocol.md, "Held places that go
     * back"): a leader, or staff over the task; the Lua tells which */
    {"team.release", NULL, "wish_team_release", ROLE_VOLUNTEER | STAFF, 1, 1},
    /* records that last (issue 18): the operator's job drains the archive
     * of closed tasks before the sweeper removes them
     * (matcher/lua/80_keep.lua). A read returns up to 100 records (about
     * 256 KiB): cost 10. */
    {"archive.read", NULL, "wish_archive_read", ROLE_ADMIN, 1, 10},
    {"archive.ack", NULL, "wish_archive_ack", ROLE_ADMIN, 1, 1},
    /* service certificates (志愿服务证明, certificate.h): issue reads up
     * to 5 000 service records and renders a PDF in a worker thread;
     * verify works before hello, charged to the address as a log-in
     * is, since strangers guess codes with it */
    {"certificate.issue", certificate_issue, NULL, ROLE_VOLUNTEER | STAFF, 1,
     10},
    {"certificate.verify", certificate_verify, NULL, ROLE_ANY, 0, 10},
    /* projects and caring partners (项目认领, 爱心伙伴): staff publish,
     * name the team and link tasks, partners adopt; the finer rules
     * (whose project, which scope) are the Lua's
     * (matcher/lua/58_projects.lua). The reads are one figures hash or a
     * page of at most 50 projects: cost 2. */
    {"project.create", NULL, "wish_project_create", STAFF, 1, 1},
    {"project.get", NULL, "wish_project_get", STAFF | PARTNER, 1, 2},
    {"project.list", NULL, "wish_project_list", STAFF | PARTNER, 1, 2},
    {"project.adopt", NULL, "wish_project_adopt", PARTNER, 1, 1},
    {"project.team", NULL, "wish_project_team", STAFF, 1, 1},
    {"project.link", NULL, "wish_project_link", STAFF, 1, 1},
    {"project.report", NULL, "wish_project_report", STAFF | PARTNER, 1, 2},
    {"project.adoption", NULL, "wish_project_adoption", STAFF, 1, 2},
};

/* What a session of an account still waiting for approval may call: its
 * own account and session, so that it can wait for the approval event. */
static bool methods_open_to_pending(const method_def *m)
{
    static const char *const open[] = {"ping", "hello", "me", "ack",
                                       "account.me", "account.update"};
    if (strncmp(m->name, "auth.", 5) == 0) return true;
    for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
        if (strcmp(m->name, open[i]) == 0) return true;
    return false;
}

#define METHOD_COUNT (sizeof(method_table) / sizeof(method_table[0]))

_Static_assert(METHOD_COUNT < METRICS_METHODS_MAX,
               "metrics.h counts requests per method: raise "
               "METRICS_METHODS_MAX");

size_t methods_count(void)
{
    return METHOD_COUNT;
}

const char *methods_name(size_t i)
{
    return i < METHOD_COUNT ? method_table[i].name : "unknown";
}

size_t methods_index(const method_def *m)
{
    return (size_t)(m - method_table);
}

const method_def *methods_find(const char *name, size_t len)
{
    for (size_t i = 0; i < METHOD_COUNT; i++)
        if (strlen(method_table[i].name) == len &&
            memcmp(method_table[i].name, name, len) == 0)
            return &method_table[i];
    return NULL;
}

/* Charges a request of `cost` tokens to its user's bucket (once hello has
 * named one) and its address's bucket. Returns 0, or -1 after answering
 * RATE_LIMITED when either holds too few: then neither is charged, so a
 * user refused for its address's sake keeps its own budget. */
static int methods_rate_check(request *req, int cost)
{
    wish_server *srv = req->srv;
    conn *c = req->c;
    int64_t now = ratelimit_now_us();
    ratelimit_bucket *user = NULL;
    if (conn_authed(c)) {
        /* User ids are unique per city: key by both. */
        char key[2 * TOKEN_FIELD_MAX + 2];
        size_t n = ratelimit_user_key(c->claims.region, c->claims.user,
                                      key, sizeof(key));
        user = ratelimit_get(srv->rl_users, key, n, now);
    }
    ratelimit_bucket *addr =
        ratelimit_get(srv->rl_addrs, c->peer, strlen(c->peer), now);
    const char *who = NULL;
    int64_t wait_us = 0, rate = 0;
    if (user != NULL &&
        (wait_us = ratelimit_wait_n_us(srv->rl_users, user, cost))) {
        who = "user";
        rate = srv->cfg.rate_user;
        metrics_rate_limited(&srv->metrics, METRICS_RL_USER);
        if (ratelimit_mark_limited(user))
            log_info("conn %llu %s: user %s over rate-user (%lld/s); "
                     "refusing its requests",
                     (unsigned long long)c->id, c->addr, c->claims.user,
                     (long long)rate);
    } else if (addr != NULL &&
               (wait_us = ratelimit_wait_n_us(srv->rl_addrs, addr, cost))) {
        who = "address";
        rate = srv->cfg.rate_addr;
        metrics_rate_limited(&srv->metrics, METRICS_RL_ADDRESS);
        if (ratelimit_mark_limited(addr))
            log_info("conn %llu %s: address %s over rate-addr (%lld/s); "
                     "refusing its requests",
                     (unsigned long long)c->id, c->addr, c->peer,
                     (long long)rate);
    }
    if (who == NULL) {
        if (user != NULL) ratelimit_take_n(srv->rl_users, user, cost);
        if (addr != NULL) ratelimit_take_n(srv->rl_addrs, addr, cost);
        return 0;
    }
    request_reply_error(req, PROTO_RATE_LIMITED,
                        "over %lld requests/s for this %s; retry in %lld ms",
                        (long long)rate, who,
                        (long long)(wait_us + 999) / 1000);
    return -1;
}

void methods_dispatch(request *req, const proto_msg *msg)
{
    const method_def *m = methods_find(msg->method, msg->method_len);
    if (m != NULL) req->midx = (unsigned)methods_index(m);
    /* Before anything else, so that a flood of unknown methods or of bad
     * hellos is limited too. Not ping: it is the heartbeat, and refusing
     * it could make a client think its link dead and reconnect; and a
     * RATE_LIMITED answer costs wishd as much as "pong", so limiting it
     * would protect nothing. */
    bool is_ping = m != NULL && m->handler == session_ping;
    if (!is_ping && methods_rate_check(req, m != NULL ? m->cost : 1) != 0)
        return;
    if (m == NULL) {
        /* Bound the echoed name so a long one cannot fill the message,
         * and cut it on a character boundary: stock clients drop a
         * message whose str is not UTF-8. */
        request_reply_error(req, PROTO_NO_METHOD, "no such method '%.*s'",
                            (int)proto_utf8_prefix(msg->method,
                                                   msg->method_len, 64),
                            msg->method);
        return;
    }
    req->method = m->name;
    conn *c = req->c;
    if (m->needs_hello && !conn_authed(c)) {
        request_reply_error(req, PROTO_UNAUTHENTICATED,
                            "call hello with a valid token first");
        return;
    }
    if (m->needs_hello && !(c->claims.role & m->roles)) {
        request_reply_error(req, PROTO_FORBIDDEN, "%s may not call %s",
                            token_role_name(c->claims.role), m->name);
        return;
    }
    if (c->account_pending && !methods_open_to_pending(m)) {
        request_reply_error(req, PROTO_FORBIDDEN,
                            "your sign-up is waiting for a coordinator's "
                            "approval");
        return;
    }
    const msgpack_object *params;
    proto_error err;
    if (proto_params_map(msg, &params, &err) != 0) {
        request_reply_error(req, err.code, "%s", err.msg);
        return;
    }
    if (m->handler != NULL) {
        m->handler(req, params);
        return;
    }
    sweeper_note_city(req->srv, c->claims.region);
    fcall_request(req, m->fn, params);
}
