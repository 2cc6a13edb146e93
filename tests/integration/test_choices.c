/* test_choices.c -- the matcher chooses the same volunteers (issue 19).
 *
 * A redesign of the post's hot path must not change whom a task is
 * offered to, except where a documented ranking change says so. This
 * test seeds a city of CH_VOLUNTEERS volunteers and runs a fixed script
 * of CH_TASKS posts on a private redis-server, with the library loaded
 * and called exactly as wishd does (FUNCTION LOAD REPLACE of the embedded
 * source; FCALLs built by matcher/call.h with wishd's default settings,
 * packed by server/settings.c). Each post's offers, in the order they
 * were made (rank order), make one line; then, by the task's number, the
 * first volunteer offered declines (the task is matched again: the path
 * of a task with offers, exclusions and a place in the unmatched set),
 * or everyone offered accepts (their load, fairness count and time then
 * weigh on later choices), or the offers are left out (offers out count
 * against a volunteer's places).
 *
 * The lines are compared with tests/integration/choices.golden, the
 * library's choices when the file was written; every difference is
 * printed with the task, the old and the new choice.
 *
 * Deterministic: volunteers and tasks come from a fixed seed, and the
 * clock is each call's `now` argument (the library never reads Redis's),
 * which starts at CH_T0 and steps CH_STEP seconds a task, so the
 * fairness count decays between posts; nothing else runs (no wishd, no
 * sweeper). Not covered: ratings (the rank's third term; no volunteer
 * here has been rated, so every one counts the default rating).
 *
 * Whom a call offered a task is read as wishd learns it: the `offer`
 * events on the city's Pub/Sub channel, not the library's keys (which
 * the redesign changes).
 *
 * test_member_follows_profile checks what that equality cannot see: the
 * GEO members carry a volunteer's radius and scope (10_volunteer.lua,
 * GEO_MEMBER), so changing either must move its member, and a bare id
 * listed by an older library must still be matched.
 *
 * A ranking change that is intended and documented (docs/matching.md)
 * rewrites the file:
 *     make choices-golden
 * (WISH_CHOICES_WRITE=1 build/release/tests/test_choices); commit it
 * with the change, saying which choices moved and why. WISH_SRC names
 * the source tree (default: the current directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "matcher/call.h"
#include "matcher/matcher.h"
#include "proto/proto.h"
#include "server/config.h"
#include "server/settings.h"
#include "tests/lib/harness.h"

#define CH_VOLUNTEERS 3000
#define CH_TASKS 1000
#define CH_SEED 19
#define CH_T0 1767225600 /* 2026-01-01 00:00 UTC, a Thursday */
#define CH_STEP 137      /* seconds between two posts */
#define CH_TZ (480 * 60) /* the city's offset: wishd's default tz-offset */
#define CH_GOLDEN "tests/integration/choices.golden"
#define CH_LINE 256
#define CH_SHOW 40 /* differences printed in full */

/* ------------------------------------------------------------------------
 * The city: three district centres, six default skills
 * --------------------------------------------------------------------- */

typedef struct ch_centre {
    const char *name;
    double lon, lat, sigma_km;
} ch_centre;

static const ch_centre CENTRES[] = {
    {"lixia", 117.076, 36.666, 2.0},
    {"shizhong", 116.998, 36.651, 2.5},
    {"tianqiao", 116.987, 36.693, 1.5},
};
#define NCENTRES (sizeof(CENTRES) / sizeof(CENTRES[0]))

typedef struct ch_skill {
    const char *name;
    double supply, demand;
} ch_skill;

static const ch_skill SKILLS[] = {
    {"errand", 0.45, 0.30}, {"elder_care", 0.40, 0.25},
    {"tutoring", 0.15, 0.15}, {"repair", 0.12, 0.12},
    {"medical", 0.08, 0.10}, {"shopping", 0.20, 0.08},
};
#define NSKILLS (sizeof(SKILLS) / sizeof(SKILLS[0]))

/* splitmix64: the same numbers on every machine and build. */
static uint64_t ch_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double ch_rand01(uint64_t *s)
{
    return (double)(ch_rand(s) >> 11) / 9007199254740992.0;
}

/* A place around a centre: uniform in a square of 3 sigma, with every
 * other point pulled to within one sigma (denser middles). No libm: the
 * coordinates must not depend on how a build rounds sin or log. */
static size_t ch_place(uint64_t *rng, double *lon, double *lat)
{
    size_t c = (size_t)(ch_rand(rng) % NCENTRES);
    double span = ch_rand(rng) % 2 ? 3.0 : 1.0;
    double dx = (ch_rand01(rng) * 2 - 1) * span * CENTRES[c].sigma_km;
    double dy = (ch_rand01(rng) * 2 - 1) * span * CENTRES[c].sigma_km;
    *lat = CENTRES[c].lat + dy / 111.32;
    *lon = CENTRES[c].lon + dx / 89.4; /* km per degree of lon at 36.7 N */
    return c;
}

static void ch_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    proto_pack_cstr(pk, k);
    proto_pack_cstr(pk, v);
}

static void ch_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    proto_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

static void ch_kv_double(msgpack_packer *pk, const char *k, double v)
{
    proto_pack_cstr(pk, k);
    msgpack_pack_double(pk, v);
}

static void ch_slot(msgpack_packer *pk, int day, const char *from,
                    const char *to)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, day);
    proto_pack_cstr(pk, from);
    proto_pack_cstr(pk, to);
}

/* Draws volunteer n: its caller region (its scope: the city, a district
 * or a street) into region[size] and its volunteer.update params into
 * pk. Most are available all day on some weekdays; some only evenings,
 * some in two slots that touch (which join); one in ten has a one-off
 * window; a few are not available at all. */
static void ch_volunteer(uint64_t *rng, long n, msgpack_packer *pk,
                         char *region, size_t size)
{
    /* One in eight lives with the one before (a household): the same
     * distance to every task, so ties of rank are met and their order
     * is pinned too. */
    static double last_lon, last_lat;
    static size_t last_c;
    double lon, lat;
    size_t c = ch_place(rng, &lon, &lat);
    if (n > 0 && ch_rand(rng) % 8 == 0) {
        lon = last_lon;
        lat = last_lat;
        c = last_c;
    }
    last_lon = lon;
    last_lat = lat;
    last_c = c;
    unsigned scope = (unsigned)(ch_rand(rng) % 10);
    if (scope < 2)
        snprintf(region, size, "jinan");
    else if (scope < 8)
        snprintf(region, size, "jinan/%s", CENTRES[c].name);
    else
        snprintf(region, size, "jinan/%s/s%u", CENTRES[c].name,
                 (unsigned)(ch_rand(rng) % 4));
    unsigned skills = 0, ns = 0;
    for (size_t i = 0; i < NSKILLS; i++)
        if (ch_rand01(rng) < SKILLS[i].supply && ns < 3) {
            skills |= 1u << i;
            ns++;
        }
    if (ns == 0) {
        skills = 1u << (ch_rand(rng) % NSKILLS);
        ns = 1;
    }
    static const int radii[] = {1500, 3000, 5000, 8000};
    int radius = radii[ch_rand(rng) % 4];
    int max_active = 1 + (int)(ch_rand(rng) % 3);
    int days = 2 + (int)(ch_rand(rng) % 6);
    int first = (int)(ch_rand(rng) % 7);
    unsigned shape = (unsigned)(ch_rand(rng) % 10);
    int window = ch_rand(rng) % 10 == 0;
    int available = ch_rand(rng) % 40 != 0;

    char name[32];
    snprintf(name, sizeof(name), "Volunteer %ld", n);
    msgpack_pack_map(pk, 8 + (window ? 1 : 0));
    ch_kv_str(pk, "name", name);
    proto_pack_cstr(pk, "skills");
    msgpack_pack_array(pk, ns);
    for (size_t i = 0; i < NSKILLS; i++)
        if (skills & (1u << i)) proto_pack_cstr(pk, SKILLS[i].name);
    ch_kv_double(pk, "lon", lon);
    ch_kv_double(pk, "lat", lat);
    ch_kv_int(pk, "radius", radius);
    ch_kv_int(pk, "max_active", max_active);
    proto_pack_cstr(pk, "weekly");
    msgpack_pack_array(pk, (uint32_t)(shape < 2 ? 2 * days : days));
    for (int i = 0; i < days; i++) {
        int d = (first + i) % 7;
        if (shape < 2) { /* two slots that touch: they join */
            ch_slot(pk, d, "08:00", "12:30");
            ch_slot(pk, d, "12:30", "20:00");
        } else if (shape < 4) {
            ch_slot(pk, d, "17:00", "22:00");
        } else {
            ch_slot(pk, d, "08:00", "21:00");
        }
    }
    if (window) { /* a whole day within the script's week */
        int64_t s = CH_T0 + (int64_t)(1 + ch_rand(rng) % 6) * 86400 - CH_TZ;
        proto_pack_cstr(pk, "windows");
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 2);
        msgpack_pack_int64(pk, s);
        msgpack_pack_int64(pk, s + 86400);
    }
    proto_pack_cstr(pk, "available");
    if (available) msgpack_pack_true(pk);
    else msgpack_pack_false(pk);
}

/* Draws task n posted at `now`: a place, a community in that district,
 * a skill by demand, one to three places, 1-3 hours on one of the next
 * six days between 07:00 and 21:00 local (some outside the slots). */
static void ch_task(uint64_t *rng, long n, int64_t now, msgpack_packer *pk)
{
    /* One draw a statement: the order of a call's arguments, or of two
     * operands, is the compiler's (gcc and clang differ). */
    double lon, lat;
    size_t c = ch_place(rng, &lon, &lat);
    unsigned street = (unsigned)(ch_rand(rng) % 4);
    unsigned community = (unsigned)(ch_rand(rng) % 3);
    char region[64], title[32];
    snprintf(region, sizeof(region), "jinan/%s/s%u/c%u", CENTRES[c].name,
             street, community);
    snprintf(title, sizeof(title), "task %ld", n);
    double x = ch_rand01(rng), acc = 0;
    const char *skill = SKILLS[0].name;
    for (size_t i = 0; i < NSKILLS; i++) {
        acc += SKILLS[i].demand;
        if (x < acc) {
            skill = SKILLS[i].name;
            break;
        }
    }
    int64_t local = now + CH_TZ;
    int64_t day0 = local - local % 86400 - CH_TZ; /* local midnight */
    int64_t day = 1 + (int64_t)(ch_rand(rng) % 6);
    int64_t minute = 7 * 60 + (int64_t)(ch_rand(rng) % 28) * 30;
    int64_t start = day0 + day * 86400 + minute * 60;
    int64_t end = start + (int64_t)(1 + ch_rand(rng) % 3) * 3600;
    unsigned q = (unsigned)(ch_rand(rng) % 20);
    int quantity = q < 16 ? 1 : q < 19 ? 2 : 3;
    msgpack_pack_map(pk, 8);
    ch_kv_str(pk, "title", title);
    ch_kv_str(pk, "skill", skill);
    ch_kv_double(pk, "lon", lon);
    ch_kv_double(pk, "lat", lat);
    ch_kv_int(pk, "start", start);
    ch_kv_int(pk, "end", end);
    ch_kv_str(pk, "region", region);
    ch_kv_int(pk, "quantity", quantity);
}

/* ------------------------------------------------------------------------
 * Calls, as wishd makes them
 * --------------------------------------------------------------------- */

typedef struct ch_run {
    redisContext *rc;  /* the calls */
    redisContext *sub; /* subscribed to the city's events */
    msgpack_sbuffer settings;
    msgpack_sbuffer args; /* caller, then params */
    msgpack_packer pk;
    size_t caller_len;
    /* the offers the last call made, in order */
    char offer_vol[8][32];
    char offer_id[8][32];
    char offer_task[8][32];
    int offers;
} ch_run;

/* Starts a call's arguments: the caller map; the params follow in
 * r->pk. */
static void ch_begin(ch_run *r, const char *user, const char *role,
                     const char *region)
{
    msgpack_sbuffer_clear(&r->args);
    match_pack_caller(&r->pk, user, role, region);
    r->caller_len = r->args.size;
}

static void ch_append(ch_run *r, const char *fn, int64_t now)
{
    match_call call;
    assert_int_equal(match_call_init(&call, fn, "jinan", now, &r->args,
                                     r->caller_len, &r->settings), 0);
    assert_int_equal(redisAppendCommandArgv(r->rc, MATCH_CALL_ARGC, call.argv,
                                            call.lens), REDIS_OK);
}

/* The one string field `name` of a MessagePack map, into out[size]. */
static int ch_map_str(const msgpack_object *m, const char *name, char *out,
                      size_t size)
{
    if (m->type != MSGPACK_OBJECT_MAP) return -1;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        const msgpack_object *v = &m->via.map.ptr[i].val;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, name, n) == 0) {
            if (v->type != MSGPACK_OBJECT_STR) return -1;
            snprintf(out, size, "%.*s", (int)v->via.str.size, v->via.str.ptr);
            return 0;
        }
    }
    return -1;
}

static const msgpack_object *ch_map_get(const msgpack_object *m,
                                        const char *name)
{
    size_t n = strlen(name);
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, name, n) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

/* Takes the events the last call announced: everything on the
 * subscription up to the answer of a PING sent after the call's own
 * answer came (Redis wrote them to this connection before it read the
 * PING). Keeps the offers of task `tid`, or of any task when tid is NULL
 * (a post, whose id is in its answer: its offers' task ids are kept in
 * offer_task to be checked against it). */
static void ch_take_events(ch_run *r, const char *tid)
{
    r->offers = 0;
    assert_int_equal(redisAppendCommand(r->sub, "PING"), REDIS_OK);
    for (;;) {
        redisReply *m = NULL;
        assert_int_equal(redisGetReply(r->sub, (void **)&m), REDIS_OK);
        assert_non_null(m);
        assert_int_equal(m->type, REDIS_REPLY_ARRAY);
        assert_true(m->elements >= 2);
        if (strcmp(m->element[0]->str, "pong") == 0) {
            freeReplyObject(m);
            return;
        }
        assert_int_equal(m->elements, 3);
        /* "<user>\n<16-digit id><MessagePack event>" (docs/matching.md) */
        const char *p = m->element[2]->str;
        size_t len = m->element[2]->len;
        const char *nl = memchr(p, '\n', len);
        assert_non_null(nl);
        assert_true((size_t)(nl - p) + 17 <= len);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, nl + 17,
                                             len - (size_t)(nl - p) - 17,
                                             NULL),
                         MSGPACK_UNPACK_SUCCESS);
        char type[32] = "", task[32] = "";
        ch_map_str(&u.data, "type", type, sizeof(type));
        const msgpack_object *t = ch_map_get(&u.data, "task");
        if (strcmp(type, "offer") == 0 && t != NULL &&
            ch_map_str(t, "task_id", task, sizeof(task)) == 0 &&
            (tid == NULL || strcmp(task, tid) == 0)) {
            assert_true(r->offers < 8);
            snprintf(r->offer_task[r->offers], sizeof(r->offer_task[0]),
                     "%s", task);
            snprintf(r->offer_vol[r->offers], sizeof(r->offer_vol[0]),
                     "%.*s", (int)(nl - p), p);
            assert_int_equal(ch_map_str(&u.data, "offer_id",
                                        r->offer_id[r->offers],
                                        sizeof(r->offer_id[0])), 0);
            r->offers++;
        }
        msgpack_unpacked_destroy(&u);
        freeReplyObject(m);
    }
}

/* Runs the call begun with ch_begin() and returns its answer (the caller
 * frees it); the events it announced are taken (ch_take_events). */
static redisReply *ch_call(ch_run *r, const char *fn, int64_t now,
                           const char *tid)
{
    ch_append(r, fn, now);
    redisReply *rep = NULL;
    assert_int_equal(redisGetReply(r->rc, (void **)&rep), REDIS_OK);
    assert_non_null(rep);
    ch_take_events(r, tid);
    return rep;
}

/* offer.accept or offer.decline of offer `oid` by its volunteer `vol`;
 * the answer's error code ("" on success) into code[size]. */
static void ch_answer(ch_run *r, const char *fn, const char *vol,
                      const char *oid, int64_t now, const char *tid,
                      char *code, size_t size)
{
    /* its scope is not needed: only the offer's own volunteer may answer
     * it, whatever its region */
    ch_begin(r, vol, "volunteer", "jinan");
    msgpack_pack_map(&r->pk, 1);
    ch_kv_str(&r->pk, "offer_id", oid);
    redisReply *rep = ch_call(r, fn, now, tid);
    code[0] = '\0';
    if (rep->type == REDIS_REPLY_ERROR)
        snprintf(code, size, "%.*s", (int)strcspn(rep->str, " "), rep->str);
    else
        assert_int_equal(rep->type, REDIS_REPLY_STRING);
    freeReplyObject(rep);
}

/* Seeds the city: every volunteer.update pipelined, each must succeed. */
static void ch_seed(ch_run *r)
{
    uint64_t rng = CH_SEED;
    for (long n = 0; n < CH_VOLUNTEERS; n++) {
        char user[32], region[64];
        snprintf(user, sizeof(user), "v%ld", n);
        /* the params decide the caller's region: pack them aside */
        msgpack_sbuffer params;
        msgpack_sbuffer_init(&params);
        msgpack_packer ppk;
        msgpack_packer_init(&ppk, &params, msgpack_sbuffer_write);
        ch_volunteer(&rng, n, &ppk, region, sizeof(region));
        ch_begin(r, user, "volunteer", region);
        msgpack_sbuffer_write(&r->args, params.data, params.size);
        msgpack_sbuffer_destroy(&params);
        ch_append(r, "wish_volunteer_update", CH_T0);
    }
    for (long n = 0; n < CH_VOLUNTEERS; n++) {
        redisReply *rep = NULL;
        assert_int_equal(redisGetReply(r->rc, (void **)&rep), REDIS_OK);
        if (rep->type != REDIS_REPLY_STRING)
            fail_msg("volunteer.update v%ld: %s", n,
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
        freeReplyObject(rep);
    }
}

/* Appends printf-style text to line[size] (cut at its end). */
static void ch_cat(char *line, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ch_cat(char *line, size_t size, const char *fmt, ...)
{
    size_t len = strlen(line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + len, size - len, fmt, ap);
    va_end(ap);
}

/* Appends " <vol>" for each offer of the last call to line[size]. */
static void ch_put_offers(const ch_run *r, char *line, size_t size)
{
    if (r->offers == 0) ch_cat(line, size, " -");
    for (int k = 0; k < r->offers; k++)
        ch_cat(line, size, " %s", r->offer_vol[k]);
}

/* Task n of the script: its post, then what its volunteers do. One line:
 *   "T12 v5 v88"                       offered to v5 then v88, left out
 *   "T12 v5 / accept"                  and everyone offered accepted
 *   "T12 v5 / accept v5:CONFLICT"      an accept refused (its code)
 *   "T12 v5 / decline v5: v9"          v5 declined; then offered to v9
 * ("-": offered to nobody). */
static void ch_step(ch_run *r, uint64_t *rng, long n, char *line,
                    size_t size)
{
    int64_t now = CH_T0 + n * CH_STEP;
    ch_begin(r, "coord-1", "coordinator", "jinan");
    ch_task(rng, n, now, &r->pk);
    redisReply *rep = ch_call(r, "wish_task_post", now, NULL);
    if (rep->type != REDIS_REPLY_STRING)
        fail_msg("task.post %ld: %s", n,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
    char tid[32] = "";
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, rep->str, rep->len, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(ch_map_str(&u.data, "task_id", tid, sizeof(tid)), 0);
    msgpack_unpacked_destroy(&u);
    freeReplyObject(rep);
    for (int k = 0; k < r->offers; k++)
        assert_string_equal(r->offer_task[k], tid);
    snprintf(line, size, "%s", tid);
    ch_put_offers(r, line, size);
    /* the answers below take new events: keep the post's offers */
    int offers = r->offers;
    char vol[8][32], oid[8][32], code[64];
    memcpy(vol, r->offer_vol, sizeof(vol));
    memcpy(oid, r->offer_id, sizeof(oid));
    if (offers == 0 || n % 5 == 4) return; /* left out */
    if (n % 5 == 1) { /* the first declines: matched again */
        ch_answer(r, "wish_offer_decline", vol[0], oid[0], now + 1, tid,
                  code, sizeof(code));
        if (code[0]) fail_msg("decline of %s by %s: %s", tid, vol[0], code);
        ch_cat(line, size, " / decline %s:", vol[0]);
        ch_put_offers(r, line, size);
        return;
    }
    ch_cat(line, size, " / accept");
    for (int k = 0; k < offers; k++) { /* everyone offered, in order */
        ch_answer(r, "wish_offer_accept", vol[k], oid[k], now + 1 + k, tid,
                  code, sizeof(code));
        if (code[0])
            ch_cat(line, size, " %s:%s", vol[k], code);
    }
}

/* ------------------------------------------------------------------------
 * The golden file
 * --------------------------------------------------------------------- */

/* The script's lines, heap copies. */
typedef struct ch_lines {
    char **line;
    long n;
} ch_lines;

static void ch_lines_free(ch_lines *l)
{
    for (long i = 0; i < l->n; i++) free(l->line[i]);
    free(l->line);
    l->line = NULL;
    l->n = 0;
}

static void ch_golden_path(char *buf, size_t size)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    snprintf(buf, size, "%s/%s", src, CH_GOLDEN);
}

/* Reads the golden file's lines, '#' comments left out; -1 when it cannot
 * be opened. */
static int ch_golden_read(const char *path, ch_lines *l)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    l->line = calloc(CH_TASKS + 1, sizeof(char *));
    assert_non_null(l->line);
    char buf[CH_LINE];
    while (fgets(buf, sizeof(buf), f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0] == '#' || buf[0] == '\0') continue;
        if (l->n > CH_TASKS) break; /* too many: reported as a difference */
        l->line[l->n] = strdup(buf);
        assert_non_null(l->line[l->n]);
        l->n++;
    }
    fclose(f);
    return 0;
}

static void ch_golden_write(const char *path, const ch_lines *now)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) fail_msg("cannot write %s", path);
    fprintf(f,
            "# The matcher's choices: tests/integration/test_choices.c (%d\n"
            "# volunteers, %d tasks, seed %d). One line a task: its id,\n"
            "# whom its post offered it to in rank order (\"-\": nobody),\n"
            "# then \"/ accept\" (with any refusal as vol:CODE) or\n"
            "# \"/ decline vol:\" and whom the task went to next. Written\n"
            "# by `make choices-golden`; rewrite only with a documented\n"
            "# ranking change.\n",
            CH_VOLUNTEERS, CH_TASKS, CH_SEED);
    for (long i = 0; i < now->n; i++) fprintf(f, "%s\n", now->line[i]);
    if (fclose(f) != 0) fail_msg("cannot write %s", path);
}

/* Prints every line that differs (the first CH_SHOW in full); returns
 * how many do. */
static long ch_compare(const ch_lines *old, const ch_lines *now)
{
    long diffs = 0, n = old->n > now->n ? old->n : now->n;
    for (long i = 0; i < n; i++) {
        const char *a = i < old->n ? old->line[i] : "(none)";
        const char *b = i < now->n ? now->line[i] : "(none)";
        if (strcmp(a, b) == 0) continue;
        if (diffs++ < CH_SHOW)
            fprintf(stderr, "choice %ld differs:\n  golden: %s\n  now:    %s\n",
                    i + 1, a, b);
    }
    if (diffs > CH_SHOW)
        fprintf(stderr, "... and %ld more differences\n", diffs - CH_SHOW);
    return diffs;
}

/* ------------------------------------------------------------------------
 * The test
 * --------------------------------------------------------------------- */

/* Connects r to the env's redis (a connection for calls, one subscribed
 * to the city's events), loads the library as wishd does and packs
 * wishd's default settings, but max-open-posts (one coordinator posts
 * every task here). */
static void ch_open(th_env *env, ch_run *r)
{
    assert_int_equal(th_redis_start(env), 0);
    const char *sock = th_redis_socket(env);
    assert_non_null(sock);
    struct timeval tv = {5, 0};
    r->rc = redisConnectUnixWithTimeout(sock, tv);
    r->sub = redisConnectUnixWithTimeout(sock, tv);
    assert_true(r->rc && !r->rc->err && r->sub && !r->sub->err);
    redisReply *rep = redisCommand(r->rc, "FUNCTION LOAD REPLACE %s",
                                   match_lua_source);
    assert_non_null(rep);
    if (rep->type == REDIS_REPLY_ERROR) fail_msg("FUNCTION LOAD: %s", rep->str);
    freeReplyObject(rep);
    wish_config cfg;
    config_defaults(&cfg);
    cfg.max_open_posts = CH_TASKS;
    msgpack_sbuffer_init(&r->settings);
    assert_int_equal(settings_pack(&cfg, &r->settings), 0);
    msgpack_sbuffer_init(&r->args);
    msgpack_packer_init(&r->pk, &r->args, msgpack_sbuffer_write);
}

static void ch_subscribe(ch_run *r)
{
    redisReply *rep = redisCommand(r->sub, "SUBSCRIBE mw:ev:jinan");
    assert_non_null(rep);
    freeReplyObject(rep);
}

static void ch_close(ch_run *r)
{
    msgpack_sbuffer_destroy(&r->settings);
    msgpack_sbuffer_destroy(&r->args);
    redisFree(r->rc);
    redisFree(r->sub);
}

static void test_same_choices(void **state)
{
    (void)state;
    th_env *env = th_start();
    assert_non_null(env);
    ch_run r = {0};
    ch_open(env, &r);
    ch_seed(&r);
    ch_subscribe(&r);

    ch_lines now = {calloc(CH_TASKS, sizeof(char *)), 0};
    assert_non_null(now.line);
    uint64_t rng = CH_SEED * 7919ull;
    long offered = 0;
    for (long n = 0; n < CH_TASKS; n++) {
        char line[CH_LINE];
        ch_step(&r, &rng, n, line, sizeof(line));
        offered += strncmp(strchr(line, ' '), " -", 2) != 0;
        now.line[now.n] = strdup(line);
        assert_non_null(now.line[now.n]);
        now.n++;
    }
    /* a script that offers nothing would pin nothing */
    assert_true(offered > CH_TASKS * 3 / 4);

    char path[TH_PATH_MAX];
    ch_golden_path(path, sizeof(path));
    const char *w = getenv("WISH_CHOICES_WRITE");
    if (w != NULL && strcmp(w, "0") != 0) {
        ch_golden_write(path, &now);
        fprintf(stderr, "wrote %s: %ld tasks, %ld offered\n", path, now.n,
                offered);
    } else {
        ch_lines old = {0};
        if (ch_golden_read(path, &old) != 0)
            fail_msg("cannot read %s (WISH_SRC: the source tree)", path);
        long diffs = ch_compare(&old, &now);
        ch_lines_free(&old);
        if (diffs)
            fail_msg("%ld of %d choices differ from %s; a documented "
                     "ranking change rewrites it: make choices-golden",
                     diffs, CH_TASKS, path);
    }
    ch_lines_free(&now);
    ch_close(&r);
    th_stop(env);
}

/* ------------------------------------------------------------------------
 * The GEO members carry radius and scope
 * --------------------------------------------------------------------- */

#define CH_LON 117.0
#define CH_LAT 36.66

/* Ends a volunteer.update of `user` begun in r->pk: "available": true
 * (the map's last pair), then the call, which must succeed. */
static void ch_volunteer_send(ch_run *r, const char *user, int64_t now)
{
    proto_pack_cstr(&r->pk, "available");
    msgpack_pack_true(&r->pk);
    redisReply *rep = ch_call(r, "wish_volunteer_update", now, NULL);
    if (rep->type != REDIS_REPLY_STRING)
        fail_msg("volunteer.update %s: %s", user,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
    freeReplyObject(rep);
}

/* volunteer.update of `user` (scope `region`) at CH_LON, CH_LAT: errand,
 * `radius` metres, free all week, 20 places. */
static void ch_volunteer_at(ch_run *r, const char *user, const char *region,
                            int radius, int64_t now)
{
    ch_begin(r, user, "volunteer", region);
    msgpack_pack_map(&r->pk, 7);
    proto_pack_cstr(&r->pk, "skills");
    msgpack_pack_array(&r->pk, 1);
    proto_pack_cstr(&r->pk, "errand");
    ch_kv_double(&r->pk, "lon", CH_LON);
    ch_kv_double(&r->pk, "lat", CH_LAT);
    ch_kv_int(&r->pk, "radius", radius);
    ch_kv_int(&r->pk, "max_active", 20);
    proto_pack_cstr(&r->pk, "weekly");
    msgpack_pack_array(&r->pk, 7);
    for (int d = 0; d < 7; d++) ch_slot(&r->pk, d, "00:00", "24:00");
    ch_volunteer_send(r, user, now);
}

/* Posts an errand in `region` 500 m north of CH_LON, CH_LAT, tomorrow;
 * returns whom it was offered to first ("-": nobody), in a static
 * buffer. */
static const char *ch_post_near(ch_run *r, const char *region, int64_t now)
{
    static char first[32];
    ch_begin(r, "coord-1", "coordinator", "jinan");
    msgpack_pack_map(&r->pk, 7);
    ch_kv_str(&r->pk, "title", "near");
    ch_kv_str(&r->pk, "skill", "errand");
    ch_kv_double(&r->pk, "lon", CH_LON);
    ch_kv_double(&r->pk, "lat", CH_LAT + 0.0045);
    ch_kv_int(&r->pk, "start", now + 86400);
    ch_kv_int(&r->pk, "end", now + 86400 + 3600);
    ch_kv_str(&r->pk, "region", region);
    redisReply *rep = ch_call(r, "wish_task_post", now, NULL);
    if (rep->type != REDIS_REPLY_STRING)
        fail_msg("task.post: %s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
    freeReplyObject(rep);
    snprintf(first, sizeof(first), "%s", r->offers ? r->offer_vol[0] : "-");
    return first;
}

/* The members of the errand GEO set, one per line into out[size]; how
 * many. */
static size_t ch_members(ch_run *r, char *out, size_t size)
{
    redisReply *rep = redisCommand(r->rc, "ZRANGE {jinan}:geo:vol:errand 0 -1");
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    size_t n = rep->elements;
    if (n > 0) {
        assert_true(rep->element[0]->len < size);
        memcpy(out, rep->element[0]->str, rep->element[0]->len);
        out[rep->element[0]->len] = '\0'; /* the id: it ends at "\0" */
    }
    freeReplyObject(rep);
    return n;
}

/* A Redis with the library, r open on it and subscribed to the city's
 * events: how the member tests start (ch_close and th_stop end them). */
static th_env *ch_start(ch_run *r)
{
    th_env *env = th_start();
    assert_non_null(env);
    ch_open(env, r);
    ch_subscribe(r);
    return env;
}

/* Lists `va` at CH_LON, CH_LAT as errand's only member, under the
 * member[len] an older library would have written. */
static void ch_list_as_before(ch_run *r, const char *member, size_t len)
{
    redisReply *rep = redisCommand(r->rc, "DEL {jinan}:geo:vol:errand");
    freeReplyObject(rep);
    rep = redisCommand(r->rc, "GEOADD {jinan}:geo:vol:errand %f %f %b",
                       CH_LON, CH_LAT, member, len);
    assert_true(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
    freeReplyObject(rep);
}

/* The errand density hash counts one volunteer in one cell, beside the
 * "~" entry whose long value keeps it a hash table, which it is. */
static void ch_assert_one_listed(ch_run *r)
{
    redisReply *rep = redisCommand(r->rc, "HGETALL {jinan}:dens:errand");
    assert_true(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 4);
    int cells = 0, mark = 0;
    for (size_t i = 0; i < rep->elements; i += 2) {
        if (strcmp(rep->element[i]->str, "~") == 0) {
            mark++;
            assert_true(rep->element[i + 1]->len > 64);
        } else {
            cells++;
            assert_string_equal(rep->element[i + 1]->str, "1");
        }
    }
    assert_int_equal(cells, 1);
    assert_int_equal(mark, 1);
    freeReplyObject(rep);
    rep = redisCommand(r->rc, "OBJECT ENCODING {jinan}:dens:errand");
    assert_true(rep && rep->type == REDIS_REPLY_STRING);
    assert_string_equal(rep->str, "hashtable");
    freeReplyObject(rep);
}

/* The GEO members carry each volunteer's radius and scope (issue 19):
 * the matcher turns a candidate away on them without reading its
 * profile, so a change of either through volunteer.update must move the
 * member, and the matcher must judge by the new values. A bare id, as
 * an older library listed it, is still matched (its radius and scope
 * read from the profile), and volunteer.update lists it anew. */
static void test_member_follows_profile(void **state)
{
    (void)state;
    ch_run r = {0};
    th_env *env = ch_start(&r);
    int64_t now = CH_T0;
    char id[64];

    ch_volunteer_at(&r, "va", "jinan/lixia", 1000, now);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c0", now), "va");
    ch_volunteer_at(&r, "va", "jinan/lixia", 300, now); /* 500 m: too far */
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c0", now), "-");
    ch_volunteer_at(&r, "va", "jinan/shizhong", 1000, now);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c0", now), "-");
    assert_string_equal(ch_post_near(&r, "jinan/shizhong/s0/c0", now), "va");
    ch_volunteer_at(&r, "va", "jinan", 1000, now); /* the whole city */
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s1/c1", now), "va");
    /* one member for it, one in the density counts (beside the "~" that
     * keeps the hash a hash table) */
    assert_int_equal(ch_members(&r, id, sizeof(id)), 1);
    assert_string_equal(id, "va");
    ch_assert_one_listed(&r);

    /* listed as an older library did: the bare id */
    ch_list_as_before(&r, "va", 2);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s2/c2", now), "va");
    ch_volunteer_at(&r, "va", "jinan/lixia", 300, now);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s2/c2", now), "-");
    redisReply *rep = redisCommand(r.rc, "ZRANGE {jinan}:geo:vol:errand 0 -1");
    assert_true(rep && rep->elements == 1);
    assert_true(rep->element[0]->len > 3); /* "va\0" and what follows */
    freeReplyObject(rep);
    ch_assert_one_listed(&r);

    ch_close(&r);
    th_stop(env);
}

/* volunteer.update of `user` (scope jinan/lixia) at CH_LON, CH_LAT:
 * errand, 1 000 m, free all day on `weekday` only (city time, 0 =
 * Sunday), with one one-off window [win_start, win_end] when win_end > 0
 * (none otherwise: the windows emptied). */
static void ch_volunteer_week(ch_run *r, const char *user, int weekday,
                              int64_t win_start, int64_t win_end, int64_t now)
{
    ch_begin(r, user, "volunteer", "jinan/lixia");
    msgpack_pack_map(&r->pk, 8);
    proto_pack_cstr(&r->pk, "skills");
    msgpack_pack_array(&r->pk, 1);
    proto_pack_cstr(&r->pk, "errand");
    ch_kv_double(&r->pk, "lon", CH_LON);
    ch_kv_double(&r->pk, "lat", CH_LAT);
    ch_kv_int(&r->pk, "radius", 1000);
    ch_kv_int(&r->pk, "max_active", 20);
    proto_pack_cstr(&r->pk, "weekly");
    msgpack_pack_array(&r->pk, 1);
    ch_slot(&r->pk, weekday, "00:00", "24:00");
    proto_pack_cstr(&r->pk, "windows");
    msgpack_pack_array(&r->pk, win_end > 0 ? 1 : 0);
    if (win_end > 0) {
        msgpack_pack_array(&r->pk, 2);
        msgpack_pack_int64(&r->pk, win_start);
        msgpack_pack_int64(&r->pk, win_end);
    }
    ch_volunteer_send(r, user, now);
}

/* The weekday byte of the errand set's one member ("va\0", the flag, two
 * bytes of radius, then that byte); -1 when it has none. */
static int ch_member_days(ch_run *r)
{
    redisReply *rep = redisCommand(r->rc, "ZRANGE {jinan}:geo:vol:errand 0 -1");
    assert_true(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    const unsigned char *m = (const unsigned char *)rep->element[0]->str;
    int days = rep->element[0]->len > 6 && m[3] >= 8 ? m[6] : -1;
    freeReplyObject(rep);
    return days;
}

/* The members carry the weekdays a volunteer serves on (issue 19): one
 * off on the task's weekday is turned away with no read, so the member
 * must follow the weekly slots and the one-off windows (which the byte
 * cannot tell: all seven days then). A member of the library before the
 * weekday byte is still matched by reading the week, and volunteer.update
 * replaces it. ch_post_near's task is tomorrow from CH_T0 at 08:00 city
 * time: a Friday (weekday 5). */
static void test_member_carries_weekdays(void **state)
{
    (void)state;
    ch_run r = {0};
    th_env *env = ch_start(&r);
    int64_t now = CH_T0;
    int64_t task_start = now + 86400;
    char id[64];

    ch_volunteer_week(&r, "va", 5, 0, 0, now); /* Fridays */
    assert_int_equal(ch_member_days(&r), 1 << 5);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c0", now), "va");
    ch_volunteer_week(&r, "va", 4, 0, 0, now); /* Thursdays only */
    assert_int_equal(ch_member_days(&r), 1 << 4);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c1", now), "-");
    /* a one-off window over the task: it serves that Friday after all */
    ch_volunteer_week(&r, "va", 4, task_start - 600, task_start + 7200, now);
    assert_int_equal(ch_member_days(&r), 127);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c2", now), "va");
    ch_volunteer_week(&r, "va", 4, 0, 0, now); /* the window taken back */
    assert_int_equal(ch_member_days(&r), 1 << 4);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c3", now), "-");
    ch_volunteer_week(&r, "va", 5, 0, 0, now);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s0/c4", now), "va");

    /* listed as the library before the weekday byte did: flag 1 (a scope
     * in the city), the radius, the scope less "jinan/"; the profile
     * says Fridays, and the matcher reads it */
    static const char legacy[] = "va\0\x01\x03\xe8lixia"; /* 1 000 m */
    ch_list_as_before(&r, legacy, sizeof(legacy) - 1);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s1/c0", now), "va");
    /* volunteer.update takes the old member out and lists the new one */
    ch_volunteer_week(&r, "va", 4, 0, 0, now);
    assert_string_equal(ch_post_near(&r, "jinan/lixia/s1/c1", now), "-");
    assert_int_equal(ch_members(&r, id, sizeof(id)), 1);
    assert_string_equal(id, "va");
    redisReply *rep = redisCommand(r.rc, "ZRANGE {jinan}:geo:vol:errand 0 -1");
    assert_true(rep && rep->elements == 1);
    assert_true(rep->element[0]->len == sizeof(legacy)); /* one byte more */
    freeReplyObject(rep);
    ch_assert_one_listed(&r);

    ch_close(&r);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_choices),
        cmocka_unit_test(test_member_follows_profile),
        cmocka_unit_test(test_member_carries_weekdays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
