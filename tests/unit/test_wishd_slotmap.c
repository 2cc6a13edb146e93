/* test_wishd_slotmap.c -- the slot table from CLUSTER SHARDS and CLUSTER
 * SLOTS (server/slotmap.c).
 *
 * The replies are real (tests/unit/cluster_replies.h, from a 3-master
 * redis-server 7.0 cluster: as created, after a slot migration, after a
 * failover), read through hiredis's own reader as wishd would get them.
 * The hostile ones are those real replies with one thing changed, so
 * each case differs from a good reply in exactly the way it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "server/keyslot.h"
#include "server/slotmap.h"
#include "tests/unit/cluster_replies.h"

#define SEED "10.9.8.7" /* the host the reply came from, in these tests */

/* Parses the RESP bytes buf[0..len) with hiredis's reader. The caller
 * frees the reply. Fails the test unless they hold one whole reply. */
static redisReply *resp(const char *buf, size_t len)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, buf, len), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(rd);
    return reply;
}

/* resp() of a NUL-terminated text. */
static redisReply *resp_str(const char *text)
{
    return resp(text, strlen(text));
}

/* text with the first occurrence of `from` replaced by `to`, in a buffer
 * the caller frees. Fails the test when `from` is not in text, so a case
 * cannot silently test the unchanged reply. */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) fail_msg("\"%s\" not in the reply", from);
    size_t head = (size_t)(at - text), flen = strlen(from), tlen = strlen(to);
    size_t tail = strlen(at + flen);
    char *out = malloc(head + tlen + tail + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    memcpy(out + head, to, tlen);
    memcpy(out + head + tlen, at + flen, tail + 1);
    return out;
}

typedef int (*parse_fn)(slotmap *, const redisReply *, const char *, char *,
                        size_t);

/* Parses text with fn into a fresh map (caller frees); *rc its result,
 * err its reason. */
static slotmap *parse_with(parse_fn fn, const char *text, int *rc, char *err,
                           size_t errsize)
{
    slotmap *m = malloc(sizeof *m);
    assert_non_null(m);
    redisReply *r = resp_str(text);
    err[0] = '\0';
    *rc = fn(m, r, SEED, err, errsize);
    freeReplyObject(r);
    return m;
}

/* Asserts the master of slot is 127.0.0.1:port. */
static void assert_owner(const slotmap *m, unsigned slot, int port)
{
    const slotmap_node *n = slotmap_owner(m, slot);
    if (!n) fail_msg("slot %u has no master, expected port %d", slot, port);
    assert_string_equal(n->host, "127.0.0.1");
    if (n->port != port)
        fail_msg("slot %u on port %d, expected %d", slot, n->port, port);
}

/* Asserts a and b send every slot to the same host:port. */
static void assert_same_routes(const slotmap *a, const slotmap *b)
{
    assert_int_equal(a->nnodes, b->nnodes);
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++) {
        const slotmap_node *x = slotmap_owner(a, s), *y = slotmap_owner(b, s);
        if (!x || !y) {
            assert_ptr_equal(x, y);
            continue;
        }
        assert_string_equal(x->host, y->host);
        if (x->port != y->port)
            fail_msg("slot %u: port %d against %d", s, x->port, y->port);
    }
}

/* Asserts that a refused parse left the map empty. */
static void assert_empty(const slotmap *m)
{
    assert_int_equal(m->nnodes, 0);
    assert_int_equal(slotmap_assigned(m), 0);
}

/* ========================================================================
 * Real replies
 * ===================================================================== */

static void test_shards_as_created(void **state)
{
    char err[256];
    int rc;
    slotmap *m = parse_with(slotmap_from_shards, REPLY_SHARDS_INITIAL, &rc, err,
                            sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nnodes, 3); /* masters only, replicas left out */
    assert_int_equal(slotmap_assigned(m), KEYSLOT_COUNT);
    assert_owner(m, 0, 27101);
    assert_owner(m, 5460, 27101);
    assert_owner(m, 5461, 27102);
    assert_owner(m, 10922, 27102);
    assert_owner(m, 10923, 27103);
    assert_owner(m, 16383, 27103);
    assert_owner(m, keyslot_of_city("jinan"), 27101);
    const slotmap_node *n = slotmap_owner(m, 0);
    assert_string_equal(n->id, "ae5471cd000e6ee6c1ea4d777876b773b899d54e");
    assert_int_equal(slotmap_find(m, "127.0.0.1", 27102),
                     m->owner[keyslot_of_city("qingdao")]);
    assert_int_equal(slotmap_find(m, "127.0.0.1", 27104), -1); /* replica */
    assert_null(slotmap_owner(m, KEYSLOT_COUNT));
    free(m);
}

static void test_slots_agree_with_shards(void **state)
{
    /* The same cluster state read both ways routes every slot alike. */
    const char *pairs[][2] = {
        {REPLY_SHARDS_INITIAL, REPLY_SLOTS_INITIAL},
        {REPLY_SHARDS_MOVED, REPLY_SLOTS_MOVED},
        {REPLY_SHARDS_FAILOVER, REPLY_SLOTS_FAILOVER},
    };
    char err[256];
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        int rc1, rc2;
        slotmap *a =
            parse_with(slotmap_from_shards, pairs[i][0], &rc1, err, sizeof err);
        assert_int_equal(rc1, 0);
        slotmap *b =
            parse_with(slotmap_from_slots, pairs[i][1], &rc2, err, sizeof err);
        assert_int_equal(rc2, 0);
        assert_int_equal(slotmap_assigned(b), KEYSLOT_COUNT);
        assert_same_routes(a, b);
        free(a);
        free(b);
    }
}

static void test_migrated_slot(void **state)
{
    /* Slot 206 ({jinan}) moved from 27101 to 27102: 27101 keeps the
     * ranges on either side. */
    char err[256];
    int rc;
    slotmap *m = parse_with(slotmap_from_shards, REPLY_SHARDS_MOVED, &rc, err,
                            sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nnodes, 3);
    assert_owner(m, 205, 27101);
    assert_owner(m, 206, 27102);
    assert_owner(m, 207, 27101);
    assert_owner(m, 5461, 27102);
    free(m);
}

static void test_failover(void **state)
{
    /* 27103 was killed; its replica 27105 took its slots. The dead node is
     * still listed, as a master of a shard with no slots: it must not be
     * one of ours. */
    char err[256];
    int rc;
    slotmap *m = parse_with(slotmap_from_shards, REPLY_SHARDS_FAILOVER, &rc,
                            err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nnodes, 3);
    assert_int_equal(slotmap_assigned(m), KEYSLOT_COUNT);
    assert_owner(m, 10923, 27105);
    assert_owner(m, 16383, 27105);
    assert_int_equal(slotmap_find(m, "127.0.0.1", 27103), -1);
    free(m);
}

/* ========================================================================
 * Endpoints
 * ===================================================================== */

static void test_unknown_endpoints(void **state)
{
    char err[256];
    int rc;
    /* SHARDS: "?" or "" as endpoint falls back to "ip"; with no ip
     * either, the seed host. */
    char *t1 =
        replace(REPLY_SHARDS_INITIAL, "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n",
                "$8\r\nendpoint\r\n$1\r\n?\r\n");
    slotmap *m = parse_with(slotmap_from_shards, t1, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_owner(m, 16383, 27103);
    free(m);
    char *t2 = replace(t1, "$2\r\nip\r\n$9\r\n127.0.0.1\r\n",
                       "$2\r\nip\r\n$0\r\n\r\n");
    m = parse_with(slotmap_from_shards, t2, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(slotmap_owner(m, 16383)->host, SEED);
    assert_int_equal(slotmap_owner(m, 16383)->port, 27103);
    assert_string_equal(slotmap_owner(m, 0)->host, "127.0.0.1");
    free(m);
    free(t1);
    free(t2);

    /* SLOTS: a nil endpoint is the seed host; "?" is the metadata's ip. */
    char *t3 = replace(REPLY_SLOTS_INITIAL, "*4\r\n$9\r\n127.0.0.1\r\n:27101",
                       "*4\r\n$-1\r\n:27101");
    m = parse_with(slotmap_from_slots, t3, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(slotmap_owner(m, 0)->host, SEED);
    free(m);
    char *t4 = replace(REPLY_SLOTS_INITIAL,
                       "*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n$40\r\n"
                       "3c18f784937eb10498cf6c398c3e26cde8e30929\r\n*0\r\n",
                       "*4\r\n$1\r\n?\r\n:27102\r\n$40\r\n"
                       "3c18f784937eb10498cf6c398c3e26cde8e30929\r\n"
                       "*2\r\n$2\r\nip\r\n$8\r\n10.0.0.2\r\n");
    m = parse_with(slotmap_from_slots, t4, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(slotmap_owner(m, 5461)->host, "10.0.0.2");
    free(m);
    free(t3);
    free(t4);
}

static void test_shard_without_master_is_unassigned(void **state)
{
    /* During a failover a shard may list no master: its slots are not
     * served, the rest of the map still is. */
    char err[256];
    int rc;
    char *t = replace(REPLY_SHARDS_INITIAL, "$4\r\nrole\r\n$6\r\nmaster",
                      "$4\r\nrole\r\n$6\r\nMASTER");
    slotmap *m = parse_with(slotmap_from_shards, t, &rc, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nnodes, 2);
    assert_null(slotmap_owner(m, 10923));
    assert_null(slotmap_owner(m, 16383));
    assert_owner(m, 0, 27101);
    assert_int_equal(slotmap_assigned(m), KEYSLOT_COUNT - (16383 - 10923 + 1));
    free(m);
    free(t);
}

/* ========================================================================
 * Malformed and hostile replies
 * ===================================================================== */

/* One changed real reply that must be refused. */
typedef struct bad_case {
    const char *name;
    parse_fn fn;
    const char *base;
    const char *from, *to; /* NULL: the base itself is used */
} bad_case;

static void test_hostile_replies_refused(void **state)
{
    const bad_case cases[] = {
        {"not an array", slotmap_from_shards, "+OK\r\n", NULL, NULL},
        {"an error", slotmap_from_shards,
         "-ERR unknown subcommand 'SHARDS'\r\n", NULL, NULL},
        {"slots not an array", slotmap_from_slots, ":1\r\n", NULL, NULL},
        {"slot past the end", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":16383\r\n", ":16384\r\n"},
        {"negative slot", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":0\r\n:5460", ":-1\r\n:5460"},
        {"huge slot", slotmap_from_slots, REPLY_SLOTS_INITIAL, ":10922",
         ":99999999999999"},
        {"range backwards", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":0\r\n:5460", ":5460\r\n:0"},
        {"slot as a string", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":0\r\n:5460", "$1\r\n0\r\n:5460"},
        {"odd slot list", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "*2\r\n:0\r\n:5460", "*3\r\n:0\r\n:5460\r\n:7"},
        {"overlapping shards", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":5461\r\n:10922", ":5460\r\n:10922"},
        {"overlapping slots entries", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         ":5461\r\n:10922", ":100\r\n:10922"},
        {"two masters in a shard", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$7\r\nreplica", "$6\r\nmaster"},
        {"port zero", slotmap_from_shards, REPLY_SHARDS_INITIAL, ":27101",
         ":0"},
        {"port too big", slotmap_from_slots, REPLY_SLOTS_INITIAL, ":27101",
         ":65536"},
        {"port as a string", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         ":27101", "$5\r\n27101"},
        {"no port", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$4\r\nport\r\n:27101", "$4\r\nPORT\r\n:27101"},
        {"space in host", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$8\r\nendpoint\r\n$9\r\n127.0.0.1",
         "$8\r\nendpoint\r\n$9\r\n127 0.0.1"},
        {"control byte in host", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "$9\r\n127.0.0.1", "$9\r\n127\n0.0.1"},
        {"endpoint an integer", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "$9\r\n127.0.0.1", ":127"},
        {"short id", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$40\r\necc409100773e9e597395f8af4a2dab0f78474b0",
         "$39\r\necc409100773e9e597395f8af4a2dab0f78474b"},
        {"id not hex", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e",
         "$40\r\nZe5471cd000e6ee6c1ea4d777876b773b899d54e"},
        {"one address two ids", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         ":27102\r\n$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929",
         ":27101\r\n$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929"},
        {"node fields odd", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "*14\r\n$2\r\nid", "*13\r\n$2\r\nid"},
        {"node field name an integer", slotmap_from_shards,
         REPLY_SHARDS_INITIAL, "$2\r\nid\r\n$40", ":2\r\n$40"},
        {"node not an array", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "*2\r\n*14\r\n$2\r\nid\r\n", "*2\r\n$2\r\nid\r\n*13\r\n"},
        {"shard without slots key", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$5\r\nslots", "$5\r\nSLOTS"},
        {"shard without nodes key", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "$5\r\nnodes", "$5\r\nNODES"},
        {"shard odd", slotmap_from_shards, REPLY_SHARDS_INITIAL,
         "*3\r\n*4\r\n$5", "*3\r\n*3\r\n$5"},
        {"shard not an array", slotmap_from_shards, "*1\r\n:7\r\n", NULL, NULL},
        {"slots entry short", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "*3\r\n:0\r\n:5460\r\n*4", "*2\r\n:0\r\n:5460\r\n*4"},
        {"slots master short", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n$40\r\n"
         "ae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0",
         "*1\r\n$9\r\n127.0.0.1"},
        {"slots master nil", slotmap_from_slots, REPLY_SLOTS_INITIAL,
         "*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n$40\r\n"
         "ae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0",
         "*-1"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        char *text = c->from ? replace(c->base, c->from, c->to) : NULL;
        int rc;
        slotmap *m =
            parse_with(c->fn, text ? text : c->base, &rc, err, sizeof err);
        if (rc != -1) fail_msg("%s: accepted", c->name);
        if (!err[0]) fail_msg("%s: no reason given", c->name);
        assert_empty(m);
        free(m);
        free(text);
    }
}

static void test_too_many_masters(void **state)
{
    /* SLOTMAP_NODES_MAX masters of one slot each fit; one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        int n = SLOTMAP_NODES_MAX + extra;
        size_t cap = (size_t)n * 64 + 16, len = 0;
        char *text = malloc(cap);
        assert_non_null(text);
        len += (size_t)snprintf(text + len, cap - len, "*%d\r\n", n);
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, cap - len,
                                    "*3\r\n:%d\r\n:%d\r\n*2\r\n$1\r\nh\r\n"
                                    ":%d\r\n",
                                    i, i, 1000 + i);
        char err[256];
        int rc;
        slotmap *m = parse_with(slotmap_from_slots, text, &rc, err, sizeof err);
        if (extra) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "masters"));
            assert_empty(m);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(m->nnodes, SLOTMAP_NODES_MAX);
            assert_int_equal(slotmap_owner(m, 7)->port, 1007);
            assert_string_equal(slotmap_owner(m, 7)->id, "");
        }
        free(m);
        free(text);
    }
}

static void test_every_number_changed(void **state)
{
    /* Each integer of a real reply replaced by a value from the edges:
     * whatever the result, no crash, and a map that is either refused
     * (empty) or consistent (every owner a listed master). */
    static const char *const values[] = {
        "-1",    "0",     "1",     "16383",
        "16384", "65535", "65536", "9223372036854775807"};
    const char *bases[] = {REPLY_SHARDS_MOVED, REPLY_SLOTS_MOVED};
    parse_fn fns[] = {slotmap_from_shards, slotmap_from_slots};
    slotmap *m = malloc(sizeof *m);
    assert_non_null(m);
    char err[256];
    for (size_t b = 0; b < 2; b++) {
        const char *base = bases[b];
        size_t blen = strlen(base);
        for (const char *p = base; (p = strstr(p, "\r\n:")); p += 3) {
            const char *num = p + 3, *end = strstr(num, "\r\n");
            for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                size_t head = (size_t)(num - base), vlen = strlen(values[v]);
                char *t = malloc(blen + vlen + 1);
                assert_non_null(t);
                memcpy(t, base, head);
                memcpy(t + head, values[v], vlen);
                strcpy(t + head + vlen, end);
                redisReply *r = resp_str(t);
                int rc = fns[b](m, r, SEED, err, sizeof err);
                if (rc < 0) assert_empty(m);
                for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
                    if (m->owner[s] != SLOTMAP_NONE)
                        assert_true(m->owner[s] < m->nnodes);
                freeReplyObject(r);
                free(t);
            }
        }
    }
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shards_as_created),
        cmocka_unit_test(test_slots_agree_with_shards),
        cmocka_unit_test(test_migrated_slot),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_unknown_endpoints),
        cmocka_unit_test(test_shard_without_master_is_unassigned),
        cmocka_unit_test(test_hostile_replies_refused),
        cmocka_unit_test(test_too_many_masters),
        cmocka_unit_test(test_every_number_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
