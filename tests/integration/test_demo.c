/* test_demo.c -- `make demo`'s story (scripts/demo.py) against a harness
 * wishd, small and fast: 200 volunteers, 8 wishes (the least that has a
 * village wish nobody is near, so the centre dispatches by hand), no
 * pauses. It must exit 0 within its deadline and tell of an accepted
 * offer and a rating, its closing totals must agree with the centre's
 * stats and board, and the wishd it ran against must still stop
 * cleanly.
 *
 * The script is found at scripts/demo.py (make runs the tests from the
 * top of the tree) and mints its tokens with $WISH_BIN/wishctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define DEMO_SCRIPT "scripts/demo.py"
#define DEMO_DEADLINE_S 40 /* generous: it takes a few seconds */
#define OUT_MAX (256 * 1024)
#define DEMO_WISHES 8

/* The numbers the story ends with, from three places: the centre's
 * stats, the board, and the story's own count of what it did. */
typedef struct totals {
    long tasks;                           /* stats: every status summed */
    long sent, accepted, declined, lapsed; /* stats: offers */
    long matched;                         /* stats: matches */
    long board_ratings;                   /* board */
    long wishes, story_accepted, story_declined, by_hand, story_ratings;
} totals;

/* The line of out that contains needle, from needle on; fails the test
 * when there is none. */
static const char *line_with(const char *out, const char *needle)
{
    const char *p = strstr(out, needle);

    if (p == NULL) fail_msg("no '%s' in the demo's output:\n%s", needle, out);
    return p;
}

/* Reads the totals out of the demo's output; fails the test when a line
 * is missing or not as expected. */
static void totals_read(const char *out, totals *t)
{
    const char *p = line_with(out, "  tasks: ");
    const char *nl = strchr(p, '\n');
    long n;
    int used;

    memset(t, 0, sizeof(*t));
    /* "  tasks: 7 done, 1 open, 1 expired" */
    for (p += 9; nl && p < nl && sscanf(p, "%ld %*[a-z]%n", &n, &used) == 1;
         p += used + (p[used] == ',' ? 2 : 0))
        t->tasks += n;
    p = line_with(out, "  offers: ");
    assert_int_equal(sscanf(p, "  offers: %ld sent, %ld accepted, %ld "
                               "declined, %ld lapsed; median time to a "
                               "match %*s s over %ld matches",
                            &t->sent, &t->accepted, &t->declined, &t->lapsed,
                            &t->matched),
                     5);
    p = line_with(out, "  services done ");
    p = line_with(p, " from ");
    assert_int_equal(sscanf(p, " from %ld ratings", &t->board_ratings), 1);
    p = line_with(out, "This morning: ");
    assert_int_equal(sscanf(p, "This morning: %ld wishes and one centre "
                               "task; %ld offers accepted, %ld declined, %ld "
                               "dispatched by hand, %ld ratings.",
                            &t->wishes, &t->story_accepted,
                            &t->story_declined, &t->by_hand,
                            &t->story_ratings),
                     5);
}

static void test_demo_story(void **state)
{
    (void)state;
    if (access(DEMO_SCRIPT, R_OK) != 0 || access("/usr/bin/python3", X_OK)) {
        fprintf(stderr, "test_demo: needs %s and /usr/bin/python3 (run from "
                        "the top of the tree)\n", DEMO_SCRIPT);
        fail();
    }
    const char *bin = getenv("WISH_BIN");
    if (bin == NULL || *bin == '\0')
        bin = "bin";

    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    th_wishd *w = th_wishd_start(env, NULL);
    assert_non_null(w);
    const char *secret = th_secret_path(env);
    assert_non_null(secret);

    char cmd[4 * TH_PATH_MAX];
    int n = snprintf(cmd, sizeof cmd,
                     "timeout -k 5 %d /usr/bin/python3 %s --port %d "
                     "--secret-file '%s' --wishctl '%s/wishctl' "
                     "--volunteers 200 --wishes %d --fast 2>&1",
                     DEMO_DEADLINE_S, DEMO_SCRIPT, th_wishd_port(w), secret,
                     bin, DEMO_WISHES);
    assert_true(n > 0 && (size_t)n < sizeof cmd);

    int64_t t0 = th_now_ms();
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, OUT_MAX + 1);
    assert_non_null(out);
    size_t len = 0, got;
    while ((got = fread(out + len, 1, OUT_MAX - len, p)) > 0)
        len += got;
    char drain[4096];
    while (fread(drain, 1, sizeof drain, p) > 0) /* beyond OUT_MAX */
        ;
    int status = pclose(p);
    int64_t ms = th_now_ms() - t0;
    out[len] = '\0';

    int code = status == -1 ? -1 : th_exit_code(status);
    bool accepted = strstr(out, "accepts the offer") != NULL;
    bool rated = strstr(out, "rates \xe2\x98\x85") != NULL; /* "rates ★" */
    bool board = strstr(out, "board for Jinan") != NULL;
    if (code != 0 || !accepted || !rated || !board) {
        fprintf(stderr, "test_demo: demo.py exit %d after %lld ms%s%s%s; "
                        "its output:\n%s\n", code, (long long)ms,
                accepted ? "" : ", no accepted offer",
                rated ? "" : ", no rating", board ? "" : ", no board", out);
        th_log_tail(th_wishd_log(w), 30);
    } else {
        fprintf(stderr, "test_demo: the story ran in %lld ms\n",
                (long long)ms);
    }
    assert_int_equal(code, 0);
    assert_true(accepted);
    assert_true(rated);
    assert_true(board);

    /* The closing totals agree with each other: the story's counts are
     * the centre's, a task dispatched by hand is a match but no offer
     * accepted, and every task the story made is counted once. */
    totals t;
    totals_read(out, &t);
    fprintf(stderr, "test_demo: %ld tasks, offers %ld sent %ld accepted "
                    "%ld declined %ld lapsed, %ld matches, %ld by hand, %ld "
                    "ratings\n", t.tasks, t.sent, t.accepted, t.declined,
            t.lapsed, t.matched, t.by_hand, t.story_ratings);
    assert_int_equal(t.wishes, DEMO_WISHES);
    assert_int_equal(t.tasks, t.wishes + 1);
    assert_int_equal(t.story_accepted, t.accepted);
    assert_int_equal(t.story_declined, t.declined);
    assert_int_equal(t.matched, t.accepted + t.by_hand);
    assert_int_equal(t.story_ratings, t.board_ratings);
    assert_true(t.by_hand >= 1); /* the village wish: the case that drifted */
    free(out);
    assert_int_equal(th_wishd_stop(w), 0);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_story),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
