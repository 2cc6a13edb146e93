/* test_wishd_cluster_epoch.c -- which slots need wish_epoch before their
 * next call (server/cluster_epoch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/cluster_epoch.h"

static cluster_epoch *fresh(void)
{
    cluster_epoch *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    return e;
}

/* The first map gives owners without making anything due: a restarted
 * wishd has no previous owner to compare with. */
static void test_first_map_is_not_a_change(void **state)
{
    (void)state;
    cluster_epoch *e = fresh();
    for (int slot = 0; slot < KEYSLOT_COUNT; slot++)
        cluster_epoch_owner(e, slot, 1 + (uint32_t)(slot % 3));
    for (int slot = 0; slot < KEYSLOT_COUNT; slot++)
        assert_false(cluster_epoch_take(e, slot));
    /* The same owners again: still nothing. */
    for (int slot = 0; slot < KEYSLOT_COUNT; slot++)
        cluster_epoch_owner(e, slot, 1 + (uint32_t)(slot % 3));
    assert_false(cluster_epoch_take(e, 206));
    free(e);
}

/* A new owner makes only its slots due, once; A, then no master, then B
 * is a change; A, none, A is not. */
static void test_new_owner_is_due_once(void **state)
{
    (void)state;
    cluster_epoch *e = fresh();
    cluster_epoch_owner(e, 206, 1);
    cluster_epoch_owner(e, 207, 1);
    cluster_epoch_owner(e, 206, 4); /* jinan's master failed over */
    assert_true(cluster_epoch_take(e, 206));
    assert_false(cluster_epoch_take(e, 206));
    assert_false(cluster_epoch_take(e, 207));

    cluster_epoch_owner(e, 9000, 2);
    cluster_epoch_owner(e, 9000, 0); /* a map with no master for it */
    assert_false(cluster_epoch_take(e, 9000));
    cluster_epoch_owner(e, 9000, 5);
    assert_true(cluster_epoch_take(e, 9000));

    cluster_epoch_owner(e, 16383, 3);
    cluster_epoch_owner(e, 16383, 0);
    cluster_epoch_owner(e, 16383, 3);
    assert_false(cluster_epoch_take(e, 16383));
    free(e);
}

/* again() makes a slot due whatever the map says; slots outside
 * 0..16383 (a keyless call's -1) are never due and change nothing. */
static void test_again_and_bounds(void **state)
{
    (void)state;
    cluster_epoch *e = fresh();
    cluster_epoch_again(e, 0);
    assert_true(cluster_epoch_take(e, 0));
    assert_false(cluster_epoch_take(e, 0));
    cluster_epoch_again(e, -1);
    cluster_epoch_again(e, KEYSLOT_COUNT);
    cluster_epoch_owner(e, -1, 7);
    cluster_epoch_owner(e, KEYSLOT_COUNT, 7);
    assert_false(cluster_epoch_take(e, -1));
    assert_false(cluster_epoch_take(e, KEYSLOT_COUNT));
    for (int slot = 0; slot < KEYSLOT_COUNT; slot++)
        assert_false(cluster_epoch_take(e, slot));
    free(e);
}

/* tag_of: the routed key's tag as "{...}", or NULL. */
static const char *tag_of(int argc, const char **argv, char *buf)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    size_t len = 0;
    const char *t = cluster_epoch_tag(argc, argv, lens, &len);
    if (t == NULL) return NULL;
    memcpy(buf, t, len);
    buf[len] = '\0';
    return buf;
}

static void test_tags(void **state)
{
    (void)state;
    char buf[64];
    const char *fcall[] = {"FCALL", "wish_task_post", "1", "{jinan}", "x"};
    assert_string_equal(tag_of(5, fcall, buf), "{jinan}");
    const char *ro[] = {"fcall_ro", "wish_me", "1", "{qingdao}"};
    assert_string_equal(tag_of(4, ro, buf), "{qingdao}");
    const char *inbox[] = {"LRANGE", "{jinan}:inbox:li-lei", "0", "-1"};
    assert_string_equal(tag_of(4, inbox, buf), "{jinan}");
    const char *cities[] = {"SMEMBERS", "mw:cities"};
    assert_null(tag_of(2, cities, buf));
    const char *empty[] = {"GET", "{}:x"};
    assert_null(tag_of(2, empty, buf));
    const char *open[] = {"GET", "{jinan"};
    assert_null(tag_of(2, open, buf));
    const char *nokey[] = {"FCALL", "wish_x", "0"};
    assert_null(tag_of(3, nokey, buf));
    const char *ping[] = {"PING"};
    assert_null(tag_of(1, ping, buf));
    const char *info[] = {"INFO", "{jinan}"};
    assert_null(tag_of(2, info, buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_map_is_not_a_change),
        cmocka_unit_test(test_new_owner_is_due_once),
        cmocka_unit_test(test_again_and_bounds),
        cmocka_unit_test(test_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
