/* test_wishd_cluster_wait.c -- the pure parts of the cluster store's
 * group commit (server/cluster_wait.c): which calls wait for a replica,
 * the flat copy of a held reply, and what a WAIT's reply means. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "server/cluster_wait.h"

/* cluster_wait_is_write() of a NULL-terminated argv. */
static bool is_write(const char *const *argv)
{
    size_t lens[16];
    int argc = 0;
    while (argv[argc]) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return cluster_wait_is_write(argc, (const char **)argv, lens);
}

static void test_writes_and_reads(void **state)
{
    /* wishd's calls: every FCALL may write, FCALL_RO never. */
    const char *fcall[] = {"FCALL", "wish_offer_accept", "1", "{jinan}",
                           NULL};
    assert_true(is_write(fcall));
    const char *lower[] = {"fcall", "wish_check", "1", "{jinan}", NULL};
    assert_true(is_write(lower));
    const char *ro[] = {"FCALL_RO", "wish_stats", "1", "{jinan}", NULL};
    assert_false(is_write(ro));
    const char *ro_lower[] = {"fcall_ro", "wish_stats", "1", "{jinan}", NULL};
    assert_false(is_write(ro_lower));
    /* The plain commands wishd sends: the sweeper's SADD writes, inbox
     * and city reads do not. */
    const char *sadd[] = {"SADD", "mw:cities", "jinan", NULL};
    assert_true(is_write(sadd));
    const char *lrange[] = {"LRANGE", "{jinan}:inbox:U1", "0", "15", NULL};
    assert_false(is_write(lrange));
    const char *smembers[] = {"SMEMBERS", "mw:cities", NULL};
    assert_false(is_write(smembers));
    const char *get[] = {"get", "k", NULL};
    assert_false(is_write(get));
    /* Unknown commands, and a read's name as a prefix, are writes. */
    const char *set[] = {"SET", "k", "v", NULL};
    assert_true(is_write(set));
    const char *getdel[] = {"GETDEL", "k", NULL};
    assert_true(is_write(getdel));
    const char *ge[] = {"GE", "k", NULL};
    assert_true(is_write(ge));
    assert_false(cluster_wait_is_write(0, NULL, NULL));
}

/* A reply as the hiredis reader builds it, from len RESP bytes. */
static redisReply *parse_n(const char *resp, size_t len)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, resp, len), REDIS_OK);
    void *r = NULL;
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

static redisReply *parse(const char *resp)
{
    return parse_n(resp, strlen(resp));
}

/* Asserts b is a copy of a, deeply, with b's strings NUL-ended and none
 * of its pointers into a. */
static void assert_copy(const redisReply *a, const redisReply *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        assert_int_equal(a->integer, b->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->str, b->str, (size_t)a->len);
        assert_int_equal(b->str[b->len], '\0');
        assert_ptr_not_equal(a->str, b->str);
        break;
    case REDIS_REPLY_ARRAY:
        assert_int_equal(a->elements, b->elements);
        for (size_t i = 0; i < a->elements; i++)
            assert_copy(a->element[i], b->element[i]);
        break;
    default:
        break;
    }
}

/* True when every part of r lies in [buf, buf + size). */
static bool inside(const redisReply *r, const char *buf, size_t size)
{
    const char *p = (const char *)r;
    if (p < buf || p + sizeof(*r) > buf + size) return false;
    if (r->str && (r->str < buf || r->str + r->len + 1 > buf + size))
        return false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        ((const char *)r->element < buf ||
         (const char *)(r->element + r->elements) > buf + size))
        return false;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (!inside(r->element[i], buf, size)) return false;
    return true;
}

static void test_reply_copy(void **state)
{
    /* Shapes wishd's calls get: a function's MessagePack bytes (a NUL
     * inside), a status, an error, an integer, nil, empty bulk and
     * array, and a nested array with a nil in it (ROLE's shape). */
    static const struct {
        const char *resp;
        size_t len;
    } replies[] = {
        {"$5\r\nab\0cd\r\n", 11},
        {"+OK\r\n", 0},
        {"-ERR CONFLICT place taken\r\n", 0},
        {":-42\r\n", 0},
        {"$-1\r\n", 0},
        {"$0\r\n\r\n", 0},
        {"*0\r\n", 0},
        {"*4\r\n$6\r\nmaster\r\n:1234\r\n*1\r\n*3\r\n$9\r\n127.0.0.1"
         "\r\n$4\r\n7001\r\n$4\r\n1200\r\n*-1\r\n",
         0},
    };
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        size_t len = replies[i].len ? replies[i].len : strlen(replies[i].resp);
        redisReply *r = parse_n(replies[i].resp, len);
        size_t need = cluster_wait_reply_size(r);
        char *buf = malloc(need);
        assert_non_null(buf);
        /* One byte short is refused. */
        assert_null(cluster_wait_reply_copy(r, buf, need - 1));
        assert_null(cluster_wait_reply_copy(r, NULL, need));
        redisReply *c = cluster_wait_reply_copy(r, buf, need);
        assert_ptr_equal(c, (redisReply *)(void *)buf);
        assert_true(inside(c, buf, need));
        assert_copy(r, c);
        /* The copy outlives hiredis's reply (ASan would see a use after
         * free otherwise): compared with a fresh parse. */
        freeReplyObject(r);
        r = parse_n(replies[i].resp, len);
        assert_copy(r, c);
        freeReplyObject(r);
        free(buf);
    }
}

static void test_outcome(void **state)
{
    redisReply *one = parse(":1\r\n"), *two = parse(":2\r\n"),
               *zero = parse(":0\r\n"),
               *err = parse("-ERR WAIT cannot be used with replica "
                            "instances\r\n");
    for (int fail = 0; fail < 2; fail++) {
        assert_int_equal(cluster_wait_outcome(one, fail), CLUSTER_WAIT_ACKED);
        assert_int_equal(cluster_wait_outcome(two, fail), CLUSTER_WAIT_ACKED);
        enum cluster_wait_outcome none =
            fail ? CLUSTER_WAIT_FAILED : CLUSTER_WAIT_UNREPLICATED;
        assert_int_equal(cluster_wait_outcome(zero, fail), none);
        assert_int_equal(cluster_wait_outcome(err, fail), none);
        assert_int_equal(cluster_wait_outcome(NULL, fail), CLUSTER_WAIT_LOST);
    }
    freeReplyObject(one);
    freeReplyObject(two);
    freeReplyObject(zero);
    freeReplyObject(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_and_reads),
        cmocka_unit_test(test_reply_copy),
        cmocka_unit_test(test_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
