/* test_nearby.c -- task.nearby under attack (issue 12, items 1 and 5).
 *
 * task.nearby is the one read an unassigned volunteer steers: its home,
 * the radius, the skill. Two attacks on it:
 *
 *   privacy  a volunteer that moves its home and bisects `radius` learns
 *            the smallest radius that lists a task: on a build that
 *            filters on the exact place, that is the exact distance, and
 *            two bisections from two homes give the place to a metre.
 *            What it learns must not be finer than the 500 m grid: two
 *            tasks in one cell of the grid look the same from anywhere,
 *            and a home moved inside its cell learns nothing new.
 *   work     a volunteer with 16 skills asking for 50 km in a city of
 *            3 200 open tasks, none of which it may take (they are in
 *            another district), so that no search ever stops early: the
 *            Redis time of that call stays within 2 ms, and the number of
 *            tasks it reads within nearby-max-examined; and it takes
 *            more of its user's rate limit than a simple call.
 *
 * Both run against a real redis-server and wishd (flows.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

/* The rate limits are not under test here; the bisections send a few
 * hundred calls. No sweep: nothing else writes or runs meanwhile. */
#define QUIET "--rate-user", "0", "--rate-addr", "0", \
              "--sweep-interval", "100000"

#define M_PER_DEG_LON (FL_M_PER_DEG_LAT * cos(FL_LAT * M_PI / 180))

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Moves the volunteer's home (volunteer.update {lon, lat}). */
static void move_home(fl_client *v, double lon, double lat)
{
    fl_fields fs = {0};
    fl_put_num(&fs, "lon", lon);
    fl_put_num(&fs, "lat", lat);
    proto_msg msg;
    assert_int_equal(fl_call(v, "volunteer.update", &fs, &msg), 0);
}

/* True when task.nearby {skill, radius} lists task_id. */
static bool lists(fl_client *v, const char *skill, int64_t radius,
                  const char *task_id)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "skill", skill);
    fl_put_int(&fs, "radius", radius);
    fl_put_int(&fs, "limit", 100);
    proto_msg msg;
    assert_int_equal(fl_call(v, "task.nearby", &fs, &msg), 0);
    const msgpack_object *list = th_result_field(&msg, "");
    assert_non_null(list);
    assert_int_equal(list->type, MSGPACK_OBJECT_ARRAY);
    char id[FL_ID_MAX];
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (th_field_str(&list->via.array.ptr[i], "task_id", id,
                         sizeof(id)) == 0 &&
            strcmp(id, task_id) == 0)
            return true;
    return false;
}

/* The attacker's bisection: the smallest radius (whole metres, 100 to
 * 20 000) at which task.nearby from the current home lists the task. */
static int64_t smallest_radius(fl_client *v, const char *skill,
                               const char *task_id)
{
    int64_t lo = 100, hi = 20000;
    assert_true(lists(v, skill, hi, task_id));
    if (lists(v, skill, lo, task_id)) return lo;
    while (hi - lo > 1) {
        int64_t mid = (lo + hi) / 2;
        if (lists(v, skill, mid, task_id)) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* The place of a task as the volunteer sees it (task.get: coarse). */
static void seen_place(fl_client *v, const char *task_id, double *lon,
                       double *lat)
{
    proto_msg msg;
    fl_task_get(v, task_id, &msg);
    const msgpack_object *t = th_result_field(&msg, "");
    *lon = fl_num(t, "lon");
    *lat = fl_num(t, "lat");
}

/* ------------------------------------------------------------------------
 * Privacy
 * --------------------------------------------------------------------- */

/* Two tasks 60 m apart in one cell of the grid: every bisection, from a
 * home to the west and one to the south, ends at the same radius for
 * both; and a home moved 40 m inside its own cell changes nothing. On a
 * build that filters on the exact place the two differ by ~60 m. */
static void test_bisection_learns_only_the_grid(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_task a = fl_task_make(3600, 7200);
    fl_task b = a;
    b.skill = "repair";
    char ida[FL_ID_MAX], idb[FL_ID_MAX];
    fl_post(co, &a, ida);

    fl_vol p = fl_vol_make("Li Lei", FL_LON - 0.03, FL_LAT);
    p.skills = "shopping,repair";
    p.available = false; /* no offers: only nearby is asked */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);

    /* b: 60 m east of a, or west if east crosses into the next cell. */
    double alon, alat, blon, blat;
    seen_place(v, ida, &alon, &alat);
    b.lon = a.lon + 60 / M_PER_DEG_LON;
    fl_post(co, &b, idb);
    seen_place(v, idb, &blon, &blat);
    if (blon != alon || blat != alat) {
        b.lon = a.lon - 60 / M_PER_DEG_LON;
        fl_post(co, &b, idb);
        seen_place(v, idb, &blon, &blat);
    }
    assert_true(blon == alon && blat == alat); /* one cell */

    /* From the west (along the parallel) and from the south. */
    const double home[2][2] = {{a.lon - 3000 / M_PER_DEG_LON, a.lat},
                               {a.lon, a.lat - 3000 / FL_M_PER_DEG_LAT}};
    for (int h = 0; h < 2; h++) {
        move_home(v, home[h][0], home[h][1]);
        int64_t ra = smallest_radius(v, "shopping", ida);
        int64_t rb = smallest_radius(v, "repair", idb);
        printf("home %d: smallest radius %lld m for %s, %lld m for %s\n", h,
               (long long)ra, ida, (long long)rb, idb);
        assert_int_equal(ra, rb);

        /* The home moved 40 m (inside its own cell, or the result would
         * legitimately move by a whole cell): the same answer. */
        move_home(v, home[h][0] + 40 / M_PER_DEG_LON, home[h][1]);
        int64_t ra2 = smallest_radius(v, "shopping", ida);
        move_home(v, home[h][0] - 40 / M_PER_DEG_LON, home[h][1]);
        int64_t ra3 = smallest_radius(v, "shopping", ida);
        printf("home %d moved 40 m east / west: %lld / %lld m\n", h,
               (long long)ra2, (long long)ra3);
        assert_true(ra2 == ra || ra3 == ra);
    }
}

/* ------------------------------------------------------------------------
 * Work
 * --------------------------------------------------------------------- */

#define SKILLS 16
#define TASKS 3200
#define POSTERS 8   /* coordinators sharing the posting */
#define PIPELINE 100 /* requests in flight per coordinator */

static const char *skill_name(int i)
{
    static char names[SKILLS][8];
    snprintf(names[i], sizeof(names[i]), "skill%d", i);
    return names[i];
}

/* Posts `n` tasks from coordinator c, PIPELINE at a time, spread over a
 * 10 km square around FL_LON/FL_LAT, in FL_OTHER_REGION. */
static void post_many(th_conn *c, int first, int n)
{
    int64_t now = time(NULL);
    for (int done = 0; done < n;) {
        uint32_t ids[PIPELINE];
        int batch = n - done < PIPELINE ? n - done : PIPELINE;
        for (int i = 0; i < batch; i++) {
            int k = first + done + i;
            ids[i] = th_req_begin(c, "task.post", 7);
            msgpack_packer *pk = th_pk(c);
            th_kv_str(pk, "title", "help at the station");
            th_kv_str(pk, "skill", skill_name(k % SKILLS));
            th_kv_double(pk, "lon", FL_LON + ((k * 7919) % 1000 - 500) *
                                                 10.0 / M_PER_DEG_LON);
            th_kv_double(pk, "lat", FL_LAT + ((k * 104729) % 1000 - 500) *
                                                 10.0 / FL_M_PER_DEG_LAT);
            th_kv_int(pk, "start", now + 3600);
            th_kv_int(pk, "end", now + 7200);
            th_kv_str(pk, "region", FL_OTHER_REGION);
        }
        assert_int_equal(th_flush(c), TH_OK);
        for (int i = 0; i < batch; i++) {
            proto_msg msg;
            assert_int_equal(th_wait_response(c, ids[i], TH_SKIP, &msg,
                                              20000),
                             TH_OK);
            assert_int_equal(th_error_code(&msg), 0);
        }
        done += batch;
    }
}

/* A counter of a command in INFO commandstats: command_stat(w, "hmget",
 * "calls") or (w, "fcall", "usec"); 0 when the command never ran. */
static int64_t command_stat(fl_world *w, const char *cmd, const char *what)
{
    redisReply *r = th_redis_cmd(w->env, "INFO commandstats");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char needle[64];
    snprintf(needle, sizeof(needle), "cmdstat_%s:", cmd);
    const char *line = strstr(r->str, needle);
    int64_t v = 0;
    if (line != NULL) {
        snprintf(needle, sizeof(needle), "%s=", what);
        const char *at = strstr(line, needle);
        assert_non_null(at);
        v = strtoll(at + strlen(needle), NULL, 10);
    }
    freeReplyObject(r);
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Tasks read (HMGET and HGETALL calls) and microseconds of FCALL so far:
 * with nothing else running, the difference across one call is that
 * call's. */
static void redis_work(fl_world *w, int64_t *reads, int64_t *fcall_us)
{
    *reads = command_stat(w, "hmget", "calls") +
             command_stat(w, "hgetall", "calls");
    *fcall_us = command_stat(w, "fcall", "usec");
}

static void test_worst_nearby_is_bounded(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    th_conn *posters[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        char user[32];
        snprintf(user, sizeof(user), "coord-%d", i);
        posters[i] = fl_login(w, 0, user, ROLE_COORDINATOR,
                              FL_OTHER_DISTRICT)->c;
    }
    /* Sixteen skills, not in the default catalogue: the city's admin
     * defines them. */
    fl_client *adm = fl_login(w, 0, "admin", ROLE_ADMIN, "jinan");
    for (int i = 0; i < SKILLS; i++)
        fl_define_skill(adm, skill_name(i));
    for (int i = 0; i < POSTERS; i++)
        post_many(posters[i], i * (TASKS / POSTERS), TASKS / POSTERS);

    /* Every skill, the widest radius, nothing it may take. */
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    char skills[SKILLS * 10] = "";
    for (int i = 0; i < SKILLS; i++) {
        strcat(skills, skill_name(i));
        if (i + 1 < SKILLS) strcat(skills, ",");
    }
    p.skills = skills;
    p.radius = 50000;
    p.available = false;
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);

    enum { CALLS = 5 };
    int64_t reads = 0, us[CALLS];
    for (int i = 0; i < CALLS; i++) {
        int64_t reads0, us0, reads1, us1;
        redis_work(w, &reads0, &us0);
        fl_fields fs = {0};
        fl_put_int(&fs, "radius", 50000);
        fl_put_int(&fs, "limit", 100);
        proto_msg msg;
        assert_int_equal(fl_call(v, "task.nearby", &fs, &msg), 0);
        const msgpack_object *list = th_result_field(&msg, "");
        assert_non_null(list);
        assert_int_equal(list->via.array.size, 0); /* none in its scope */
        redis_work(w, &reads1, &us1);
        if (reads1 - reads0 > reads) reads = reads1 - reads0;
        us[i] = us1 - us0;
    }
    qsort(us, CALLS, sizeof(us[0]), cmp_i64);
    printf("worst task.nearby: %lld us of Redis (median of %d; min %lld, "
           "max %lld), %lld tasks read\n",
           (long long)us[CALLS / 2], CALLS, (long long)us[0],
           (long long)us[CALLS - 1], (long long)reads - 1);
    /* The volunteer's own profile, then at most nearby-max-examined (100)
     * tasks. */
    assert_true(reads <= 1 + 100);
    assert_true(us[CALLS / 2] <= 2000);
}

/* task.nearby takes five of its user's tokens: with a burst of 10, after
 * hello and a profile update (one each) the second nearby is refused,
 * and a plain call still passes. One token a second comes back; the
 * calls take milliseconds. */
static void test_nearby_costs_more_of_the_rate(void **state)
{
    fl_world *w = fl_world_start(state, "--rate-user", "1",
                                 "--rate-user-burst", "10", NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    assert_int_equal(fl_call(v, "task.nearby", NULL, NULL), 0);
    assert_int_equal(fl_call(v, "task.nearby", NULL, NULL),
                     PROTO_RATE_LIMITED);
    assert_int_equal(fl_call(v, "me", NULL, NULL), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_bisection_learns_only_the_grid),
        T(test_worst_nearby_is_bounded),
        T(test_nearby_costs_more_of_the_rate),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
