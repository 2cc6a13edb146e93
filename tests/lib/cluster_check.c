/* cluster_check.c -- the cluster tests' shared reads and checks of the
 * nodes (see cluster_check.h for the contracts). */
#include "tests/lib/cluster_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define STEP_MS 20 /* polling a node */

th_cluster *th_cluster_env_start(th_env **env, const th_cluster_opts *o)
{
    *env = th_start();
    assert_non_null(*env);
    th_cluster *c = th_cluster_start_with(*env, o);
    assert_non_null(c);
    return c;
}

int th_cluster_fixture_setup(void **state)
{
    th_cluster_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->cluster = th_cluster_env_start(&f->env, NULL);
    *state = f;
    return 0;
}

int th_cluster_fixture_teardown(void **state)
{
    th_cluster_fixture *f = *state;
    th_stop(f->env);
    free(f);
    return 0;
}

void th_cluster_use(th_env *env, const th_cluster *c)
{
    char seeds[256];
    assert_int_equal(th_cluster_seeds(c, seeds, sizeof seeds), 0);
    assert_int_equal(th_wishd_use_cluster(env, seeds), 0);
}

bool th_cluster_wait_subscribed(th_cluster *c, int node, const char *city,
                                int ms)
{
    int64_t end = th_now_ms() + ms;
    do {
        redisReply *r = th_cluster_cmd(c, node,
                                       "PUBSUB SHARDNUMSUB mw:ev:{%s} "
                                       "mw:q:{%s}",
                                       city, city);
        bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY &&
                  r->elements == 4 && r->element[1]->integer >= 1 &&
                  r->element[3]->integer >= 1;
        freeReplyObject(r);
        if (ok) return true;
        th_sleep_ms(STEP_MS);
    } while (th_now_ms() < end);
    return false;
}

long long th_cluster_info_count(th_cluster *c, int node, const char *section,
                                const char *field)
{
    redisReply *r = th_cluster_cmd(c, node, "INFO %s", section);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    const char *p = strstr(r->str, field);
    long long n = p != NULL ? strtoll(p + strlen(field), NULL, 10) : 0;
    freeReplyObject(r);
    return n;
}

long long th_cluster_calls(th_cluster *c, int node, const char *cmd)
{
    char field[64];
    snprintf(field, sizeof field, "cmdstat_%s:calls=", cmd);
    return th_cluster_info_count(c, node, "commandstats", field);
}

void th_cluster_node_id(th_cluster *c, int i, char *buf, size_t size)
{
    redisReply *r = th_cluster_cmd(c, i, "CLUSTER MYID");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(buf, size, "%s", r->str);
    freeReplyObject(r);
}

void th_cluster_reply_ok(redisReply *r, const char *what)
{
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("%s: %s", what, r->str);
    freeReplyObject(r);
}
