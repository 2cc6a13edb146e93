/* test_cluster_wishd.c -- a real wishd on a real Redis Cluster (issue 17;
 * tests/lib/cluster.h: 3 masters, 3 replicas on loopback), started with
 * `--redis-cluster` (th_wishd_use_cluster()).
 *
 * Two cities on two different masters (jinan, and a city the helper
 * picks on another master): in each, a resident's wish is offered to the
 * city's volunteer, who accepts; the resident gets `assigned`, and the
 * city's coordinator, watching its queue, sees the task's changes. The
 * events travel on sharded Pub/Sub: the library SPUBLISHes on
 * mw:ev:{city} / mw:q:{city}, and wishd has SSUBSCRIBEd both on the
 * master owning the city's slot (checked there with PUBSUB SHARDNUMSUB).
 *
 * Then kill -9 of jinan's master: with nothing restarted, wishd serves
 * jinan again within 10 s (the promoted replica), a new wish is matched,
 * offered and assigned with its events delivered, wishd has subscribed
 * jinan's channels on the new master, and the coordinator's watch sees a
 * post made after that; the other city is served throughout.
 *
 * A city's slot migrated by hand under wishd: the old master's
 * `sunsubscribe` makes wishd subscribe on the new one. And two wishd on
 * one cluster: every event crosses from one daemon to the other.
 *
 * AUTH: on a cluster whose nodes require a password, a wishd with the
 * default user's password and one with an ACL user serve a flow across
 * them (calls and sharded Pub/Sub links authenticated); a wishd with a
 * wrong password, and one with none, never become ready: they say why in
 * their log and answer UNAVAILABLE at once.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/flows.h"
#include "tests/lib/cluster.h"
#include "tests/lib/cluster_check.h"
#include "tests/lib/harness.h"

#define RECOVER_MS 10000 /* issue 17: wishd recovers within 10 s */

/* One city's people: a coordinator watching the district's queue, a
 * volunteer there, a resident who wishes. */
typedef struct city_scene {
    char city[32], district[64], region[96];
    fl_client *co, *vol, *res;
    char vol_user[48];
} city_scene;

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* The city's people: the resident on wishd 0, the coordinator and the
 * volunteer on wishd `staff` (0, or a second wishd). */
static void city_start_on(fl_world *w, const char *city, int staff,
                          city_scene *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->city, sizeof s->city, "%s", city);
    snprintf(s->district, sizeof s->district, "%s/lixia", city);
    snprintf(s->region, sizeof s->region, "%s/lixia/quancheng/xinhe", city);
    char user[48];
    snprintf(user, sizeof user, "co-%s", city);
    s->co = fl_login(w, staff, user, ROLE_COORDINATOR, s->district);
    assert_int_equal(
        fl_call1(s->co, "queue.watch", "region", s->district, NULL), 0);
    snprintf(s->vol_user, sizeof s->vol_user, "vol-%s", city);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    s->vol = fl_volunteer_in(w, staff, s->vol_user, s->district, &p);
    snprintf(user, sizeof user, "res-%s", city);
    s->res = fl_login(w, 0, user, ROLE_RESIDENT, s->region);
}

static void city_start(fl_world *w, const char *city, city_scene *s)
{
    city_start_on(w, city, 0, s);
}

/* A wish of the city's resident starting start_in s from now, into id. */
static void city_wish(city_scene *s, int64_t start_in, char *id)
{
    fl_task t = fl_task_make(start_in, start_in + 1800);
    t.region = s->region;
    fl_submit(s->res, &t, "open", id);
}

/* The wish id is offered to the volunteer, who accepts; the resident is
 * told `assigned`. */
static void city_offer_accept(city_scene *s, const char *id)
{
    char offer[FL_ID_MAX];
    fl_expect_offer(s->vol, id, offer);
    proto_msg msg;
    assert_int_equal(fl_call1(s->vol, "offer.accept", "offer_id", offer, &msg),
                     0);
    fl_assert_assignment(&msg, id, s->vol_user);
    fl_expect(s->vol, "assigned", "task.task_id", id);
    fl_expect(s->res, "assigned", "task.task_id", id);
}

/* The coordinator's watch saw task id created, then changed again (its
 * assignment). */
static void city_watch_saw(city_scene *s, const char *id)
{
    fl_assert_str(fl_expect(s->co, "queue", "task.task_id", id), "change",
                  "created");
    assert_non_null(fl_expect(s->co, "queue", "task.task_id", id));
}

/* ------------------------------------------------------------------------
 * Set-up
 * --------------------------------------------------------------------- */

/* A cluster started with o (NULL: th_cluster_start()'s) and one wishd on
 * it with the flags extra[] (NULL-terminated; NULL: none). */
static int setup_with(void **state, const th_cluster_opts *o,
                      const char *const *extra)
{
    *state = fl_world_cluster(o, extra);
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL, NULL);
}

#define AUTH_PASSWORD "pw-default"
#define AUTH_USER "wish"
#define AUTH_USER_PASSWORD "pw-wish"

/* Nodes that require AUTH: the default user's password, and an ACL user
 * with its own; the first wishd uses the default user's. */
static int setup_auth(void **state)
{
    static const th_cluster_opts o = {.password = AUTH_PASSWORD,
                                      .acl_user = AUTH_USER,
                                      .acl_password = AUTH_USER_PASSWORD};
    static const char *const extra[] = {"--redis-password", AUTH_PASSWORD,
                                        NULL};
    return setup_with(state, &o, extra);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void test_two_masters_then_failover(void **state)
{
    fl_world *w = *state;

    /* Two cities on two masters. */
    int m_jinan = th_cluster_master_of(w->cluster, "{jinan}");
    assert_true(m_jinan >= 0 && m_jinan < TH_CLUSTER_MASTERS);
    int m_other = (m_jinan + 1) % TH_CLUSTER_MASTERS;
    char other[32];
    assert_int_equal(
        th_cluster_city_on(w->cluster, m_other, other, sizeof other), 0);
    city_scene a, b;
    city_start(w, "jinan", &a);
    city_start(w, other, &b);
    /* wishd subscribed each city's channels on the city's own master. */
    assert_true(th_cluster_wait_subscribed(w->cluster, m_jinan, "jinan", 3000));
    assert_true(th_cluster_wait_subscribed(w->cluster, m_other, other, 3000));

    char id[FL_ID_MAX];
    city_wish(&a, 3600, id);
    city_offer_accept(&a, id);
    city_watch_saw(&a, id);
    city_wish(&b, 3600, id);
    city_offer_accept(&b, id);
    city_watch_saw(&b, id);
    /* Announced with SPUBLISH only: PUBLISH would be broadcast to every
     * node over the cluster bus. */
    assert_true(th_cluster_calls(w->cluster, m_other, "spublish") > 0);
    assert_int_equal(th_cluster_calls(w->cluster, m_other, "publish"), 0);

    /* kill -9 of jinan's master. */
    int64_t killed = th_now_ms();
    assert_int_equal(th_cluster_signal(w->cluster, m_jinan, SIGKILL), 0);

    /* The other city is served on: its master is untouched. */
    city_wish(&b, 3 * 3600, id);
    city_offer_accept(&b, id);

    /* jinan: UNAVAILABLE until the replica is promoted and wishd has
     * found it, then a wish is taken, offered and assigned, with its
     * events delivered: by the new subscription, or by the catch-up
     * that subscription triggers. */
    fl_task t = fl_task_make(3 * 3600, 3 * 3600 + 1800);
    t.region = a.region;
    fl_fields fs = {0};
    fl_task_fields(&t, false, &fs);
    for (;;) {
        proto_msg msg;
        int rc = fl_call(a.res, "wish.submit", &fs, &msg);
        if (rc == 0) {
            const msgpack_object *r = th_result_field(&msg, "task_id");
            assert_non_null(r);
            assert_int_equal(th_obj_str(r, id, sizeof id), 0);
            break;
        }
        assert_int_equal(rc, PROTO_UNAVAILABLE);
        if (th_now_ms() - killed > RECOVER_MS)
            fail_msg("jinan not served %d ms after its master's kill",
                     RECOVER_MS);
        th_sleep_ms(50);
    }
    int64_t served = th_now_ms() - killed;
    city_offer_accept(&a, id);
    int m_new = th_cluster_master_of(w->cluster, "{jinan}");
    assert_true(m_new >= 0 && m_new != m_jinan);
    assert_true(
        th_cluster_wait_subscribed(w->cluster, m_new, "jinan",
                                   (int)(RECOVER_MS - (th_now_ms() - killed))));
    int64_t subscribed = th_now_ms() - killed;
    print_message("jinan served again %lld ms after the kill, subscribed "
                  "on the new master by %lld ms\n",
                  (long long)served, (long long)subscribed);

    /* The coordinator's watch, on the new master's channel. */
    city_wish(&a, 5 * 3600, id);
    fl_assert_str(fl_expect(a.co, "queue", "task.task_id", id), "change",
                  "created");
    city_offer_accept(&a, id);
}

/* Moves every key of city's slot from src to dst and gives dst the slot,
 * as redis-cli --cluster reshard does. */
static void migrate_city(th_cluster *c, const char *city, int src, int dst)
{
    char src_id[64], dst_id[64], tag[48];
    th_cluster_node_id(c, src, src_id, sizeof src_id);
    th_cluster_node_id(c, dst, dst_id, sizeof dst_id);
    snprintf(tag, sizeof tag, "{%s}", city);
    redisReply *k = th_cluster_cmd(c, src, "CLUSTER KEYSLOT %s", tag);
    assert_non_null(k);
    long long slot = k->integer;
    freeReplyObject(k);
    th_cluster_reply_ok(th_cluster_cmd(c, dst,
                                       "CLUSTER SETSLOT %lld IMPORTING %s",
                                       slot, src_id),
                        "IMPORTING");
    th_cluster_reply_ok(th_cluster_cmd(c, src,
                                       "CLUSTER SETSLOT %lld MIGRATING %s",
                                       slot, dst_id),
                        "MIGRATING");
    for (;;) {
        redisReply *keys =
            th_cluster_cmd(c, src, "CLUSTER GETKEYSINSLOT %lld 100", slot);
        assert_non_null(keys);
        assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
        size_t n = keys->elements;
        for (size_t i = 0; i < n; i++) {
            redisReply *m =
                th_cluster_cmd(c, src, "MIGRATE 127.0.0.1 %d %b 0 5000",
                               th_cluster_port(c, dst), keys->element[i]->str,
                               (size_t)keys->element[i]->len);
            assert_non_null(m);
            if (m->type == REDIS_REPLY_ERROR) fail_msg("MIGRATE: %s", m->str);
            freeReplyObject(m);
        }
        freeReplyObject(keys);
        if (n == 0) break;
    }
    int order[TH_CLUSTER_MASTERS] = {dst, src, 3 - src - dst};
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++)
        th_cluster_reply_ok(th_cluster_cmd(c, order[i],
                                           "CLUSTER SETSLOT %lld NODE %s", slot,
                                           dst_id),
                            "SETSLOT NODE");
}

/* A city's slot moved to another master while wishd serves it: the old
 * master sends `sunsubscribe`, wishd subscribes the city on the new one,
 * and the city's flows and its coordinator's watch go on. */
static void test_slot_migration(void **state)
{
    fl_world *w = *state;
    char city[32];
    int src = 1, dst = 2;
    assert_int_equal(th_cluster_city_on(w->cluster, src, city, sizeof city), 0);
    city_scene a;
    city_start(w, city, &a);
    assert_true(th_cluster_wait_subscribed(w->cluster, src, city, 3000));
    char id[FL_ID_MAX];
    city_wish(&a, 3600, id);
    city_offer_accept(&a, id);
    city_watch_saw(&a, id);

    migrate_city(w->cluster, city, src, dst);
    char tag[48];
    snprintf(tag, sizeof tag, "{%s}", city);
    assert_int_equal(th_cluster_master_of(w->cluster, tag), dst);
    assert_true(th_cluster_wait_subscribed(w->cluster, dst, city, 5000));
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]),
                                 "(its slot moved); subscribing it again"));

    city_wish(&a, 3 * 3600, id);
    city_offer_accept(&a, id);
    city_watch_saw(&a, id);
    /* Served by dst: its functions ran there. */
    assert_true(th_cluster_calls(w->cluster, dst, "spublish") > 0);
}

/* The subscribers of city's event channel on node (PUBSUB SHARDNUMSUB). */
static long long ev_subscribers(th_cluster *c, int node, const char *city)
{
    redisReply *r = th_cluster_cmd(c, node, "PUBSUB SHARDNUMSUB mw:ev:{%s}",
                                   city);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    long long n = r->element[1]->integer;
    freeReplyObject(r);
    return n;
}

/* Two wishd on one cluster: each city's resident on the first, its
 * coordinator and volunteer on the second, so every event crosses from
 * the daemon that made the change to the other one, through the city's
 * shard channel; both daemons subscribed there. */
static void test_two_wishd(void **state)
{
    fl_world *w = *state;
    assert_int_equal(fl_world_add_wishd(w), 1);
    char c0[32], c2[32];
    assert_int_equal(th_cluster_city_on(w->cluster, 0, c0, sizeof c0), 0);
    assert_int_equal(th_cluster_city_on(w->cluster, 2, c2, sizeof c2), 0);
    city_scene a, b;
    city_start_on(w, c0, 1, &a);
    city_start_on(w, c2, 1, &b);
    assert_true(th_cluster_wait_subscribed(w->cluster, 0, c0, 3000));
    assert_true(th_cluster_wait_subscribed(w->cluster, 2, c2, 3000));
    /* Both daemons hold a session in each city: two subscribers. */
    assert_int_equal(ev_subscribers(w->cluster, 0, c0), 2);

    char id[FL_ID_MAX];
    city_wish(&a, 3600, id);
    city_offer_accept(&a, id);
    city_watch_saw(&a, id);
    city_wish(&b, 3600, id);
    city_offer_accept(&b, id);
    city_watch_saw(&b, id);

    /* Master 0 drops every pub/sub link: both daemons subscribe c0 again
     * by themselves and re-read its sessions' inboxes, so a wish made
     * at once, maybe before that, still reaches the volunteer. */
    redisReply *r = th_cluster_cmd(w->cluster, 0, "CLIENT KILL TYPE pubsub");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_true(r->integer >= 2);
    freeReplyObject(r);
    city_wish(&a, 3 * 3600, id);
    city_offer_accept(&a, id);
    assert_true(th_cluster_wait_subscribed(w->cluster, 0, c0, 3000));
    char lost[96];
    snprintf(lost, sizeof lost, "pub/sub link to 127.0.0.1:%d lost",
             th_cluster_port(w->cluster, 0));
    for (int i = 0; i < 2; i++)
        assert_true(th_file_contains(th_wishd_log(w->wishd[i]), lost));
}

/* A wishd with the credentials flags[] (NULL-terminated) that the nodes
 * refuse: it logs `why` as the reason no node gave the slot map, never
 * says every slot is served, answers a call that needs the store
 * UNAVAILABLE (at once: the client's deadline is the harness's), and
 * stops cleanly. */
static void refused_wishd(fl_world *w, const char *const *flags,
                          const char *why)
{
    th_wishd *d = th_wishd_startv(w->env, flags);
    assert_non_null(d);
    assert_true(th_file_wait_contains(
        th_wishd_log(d),
        "no node gave the slot map (retrying): 127.0.0.1:", 5000));
    assert_true(th_file_wait_contains(th_wishd_log(d), why, 1000));
    char token[TOKEN_MAX];
    assert_int_equal(th_token(w->env, "auth-probe", ROLE_RESIDENT, FL_REGION,
                              600, token, sizeof token),
                     0);
    th_conn *c = th_conn_open(w->env, th_wishd_port(d), 2000);
    assert_non_null(c);
    assert_int_equal(th_hello(c, token, NULL), TH_OK);
    for (int i = 0; i < 3; i++) {
        proto_msg msg;
        assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
        assert_int_equal(th_error_code(&msg), PROTO_UNAVAILABLE);
        th_sleep_ms(100);
    }
    th_conn_close(c);
    assert_false(th_file_contains(th_wishd_log(d), "every slot served"));
    assert_int_equal(th_wishd_stop(d), 0);
}

static void test_auth(void **state)
{
    fl_world *w = *state;
    /* The second wishd authenticates as the ACL user (AUTH user pass). */
    static const char *const acl[] = {"--redis-user", AUTH_USER,
                                      "--redis-password", AUTH_USER_PASSWORD,
                                      NULL};
    for (int i = 0; acl[i] != NULL; i++)
        w->extra[i] = acl[i];
    w->extra[4] = NULL;
    assert_int_equal(fl_world_add_wishd(w), 1);

    /* The resident on the first wishd, the staff on the second: every
     * event crosses, on pub/sub links of both users. */
    char c0[32];
    assert_int_equal(th_cluster_city_on(w->cluster, 0, c0, sizeof c0), 0);
    city_scene a;
    city_start_on(w, c0, 1, &a);
    assert_true(th_cluster_wait_subscribed(w->cluster, 0, c0, 3000));
    assert_int_equal(ev_subscribers(w->cluster, 0, c0), 2);
    redisReply *r = th_cluster_cmd(w->cluster, 0, "CLIENT LIST");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "user=" AUTH_USER " "));
    freeReplyObject(r);
    char id[FL_ID_MAX];
    city_wish(&a, 3600, id);
    city_offer_accept(&a, id);
    city_watch_saw(&a, id);

    /* Wrong credentials: refused, said, never ready, not a hang. */
    static const char *const wrong[] = {"--redis-user", AUTH_USER,
                                        "--redis-password", "not-it", NULL};
    refused_wishd(w, wrong,
                  "AUTH refused (check redis-user and redis-password): "
                  "WRONGPASS");
    static const char *const none[] = {NULL};
    refused_wishd(w, none, "a password is required (redis-password): NOAUTH");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_masters_then_failover, setup,
                                        fl_teardown),
        cmocka_unit_test_setup_teardown(test_slot_migration, setup,
                                        fl_teardown),
        cmocka_unit_test_setup_teardown(test_two_wishd, setup, fl_teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup_auth, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
