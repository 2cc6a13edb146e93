/* wishbench.c -- microwish's load generator: options, the city model, the
 * direct Redis caller, reports. See wishbench.h and bench/run.sh.
 *
 *   wishbench seed    --redis-socket S --volunteers N
 *       loads the Functions library and creates N volunteers through
 *       wish_volunteer_update, pipelined (the data wishd would write)
 *   wishbench direct  --redis-socket S --seconds T --pipeline P
 *       posts tasks (FCALL wish_task_post: the match and its offer)
 *       straight to Redis, exactly as wishd would call it
 *   wishbench wishd   --port P --secret-file F --redis-socket S
 *                     --connections C --pipeline W --seconds T [--rate R]
 *                     [--agents N --max-sessions M]
 *       posts the same tasks through wishd; with --agents, volunteer
 *       agents (wishbench_agents.c) accept every offer, and matches/s and
 *       post-to-`assigned` latency are measured
 *   wishbench memory  --redis-socket S
 *       bytes per volunteer (profile hash) and per inbox, sampled
 *   wishbench quality --redis-socket S --volunteers N --tasks T
 *       on a city just seeded with the same --seed and --volunteers:
 *       posts T tasks one by one, accepts each first offer, compares the
 *       travel with the optimal assignment (wishbench_assign.c); Gini
 *   wishbench check   --redis-socket S
 *       the city's invariants (no task over-filled, no volunteer
 *       double-booked...), judged by the library's wish_check
 *   wishbench conns   --port P --secret-file F --wishd-pid PID
 *                     --connections N
 *       holds N idle sessions; wishd's VmRSS per connection
 *   wishbench crowd   --port P --connections N [--think-ms T] [--pings K]
 *                     --seconds S
 *       N connections send random bytes and reconnect when wishd cuts
 *       them (wishbench_crowd.c); one client's ping p99 in quiet and
 *       loaded blocks, and their ratio. --pings 0: the crowd only, for S
 *       seconds
 *   wishbench rtt     --port P --secret-file F --transport tcp|ws
 *                     --method ping|post --connections C --pipeline W
 *                     --seconds S
 *       closed-loop round trips of `ping` or a coordinator's task.post,
 *       over TCP or a WebSocket (--port: then wishd's HTTP port):
 *       calls/s, p50/p99 us; bench/run.sh interleaves the transports
 *   wishbench idle    --port P --secret-file F --transport tcp|ws
 *                     --wishd-pid PID --connections N
 *       opens N sessions one after the other (hello each, a volunteer),
 *       holds them idle; wishd's VmRSS before and after: bytes each
 *   wishbench logins  --port P --secret-file F --accounts N --seconds S
 *                     --connections C --pipeline W
 *                     [--kdf-memory KIB --kdf-time T]
 *       N accounts by an admin's invites and auth.signup, then successful
 *       auth.login calls for S seconds (wishbench_logins.c): logins/s,
 *       latency, UNAVAILABLE answers; one argon2id hash (wishd's
 *       kdf-memory and kdf-time, which --kdf-* must repeat) and SHA-256
 *       timed on one core: what a stolen hash costs per guess
 *
 * Every command prints one summary line, or one JSON object with --json.
 */
#include "clients/wishbench/wishbench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "matcher/call.h"
#include "matcher/matcher.h"
#include "proto/proto.h"
#include "proto/token.h"
#include "server/config.h"
#include "server/settings.h"

/* ========================================================================
 * Options
 * ===================================================================== */

typedef struct wb_opts {
    const char *cmd;
    const char *redis_socket;
    const char *redis_host;
    int redis_port;
    const char *host;
    int port;
    const char *secret_file;
    const char *city;
    long volunteers;
    double seconds;
    int pipeline;
    int connections;
    double rate;
    uint64_t seed;
    int json;
    const char *label;
    long max_requests;
    long agents;       /* preconnected volunteer sessions; -1: no agents */
    long max_sessions; /* sessions opened on demand */
    double assign_wait;
    double warmup;
    long tasks;        /* quality */
    long candidates;   /* quality: fitting volunteers kept per task */
    int wishd_pid;     /* conns */
    int think_ms;      /* crowd */
    int pings;         /* crowd */
    long accounts;     /* logins */
    long kdf_memory;   /* logins: wishd's kdf-memory, KiB */
    long kdf_time;     /* logins: wishd's kdf-time */
    int ws;            /* rtt, idle: --transport ws */
    int ping;          /* rtt: --method ping */
    const char *cities; /* cluster: comma-separated */
    const char *versus_host; /* cluster: a second cluster; NULL: none */
    int versus_port;
    long block;         /* cluster: posts a city per turn */
} wb_opts;

static void wb_usage(FILE *f)
{
    fprintf(f,
        "usage: wishbench COMMAND [options]\n"
        "commands:\n"
        "  seed     create --volunteers N through wish_volunteer_update\n"
        "  direct   post tasks straight to Redis (FCALL wish_task_post)\n"
        "  wishd    post the same tasks through wishd\n"
        "  memory   bytes per volunteer and per inbox\n"
        "  quality  post --tasks N one by one, accept each first offer;\n"
        "           travel vs the optimal assignment, Gini of the work\n"
        "  check    the city's invariants, by wish_check: no task\n"
        "           over-filled, no volunteer double-booked...\n"
        "  conns    hold --connections idle sessions; wishd memory each\n"
        "  crowd    --connections sending random bytes; ping p99 quiet vs\n"
        "           loaded\n"
        "  logins   --accounts by invite and sign-up, then auth.login for\n"
        "           --seconds: logins/s; one password hash vs SHA-256\n"
        "  rtt      closed-loop --method calls over --transport: calls/s,\n"
        "           p50/p99\n"
        "  idle     hold --connections sessions over --transport, opened\n"
        "           one by one; wishd memory each\n"
        "  cluster  on the Redis Cluster of --redis: seed --volunteers in\n"
        "           each of --cities, then post --requests tasks in each,\n"
        "           straight to the master of its slot: matches/s; with\n"
        "           --versus, against a second cluster, in turns\n"
        "options (defaults in brackets):\n"
        "  --redis-socket PATH   Redis unix socket [none]\n"
        "  --redis HOST:PORT     Redis over TCP [127.0.0.1:6379]\n"
        "  --host HOST           wishd host [127.0.0.1]\n"
        "  --port N              wishd port [7400]\n"
        "  --secret-file FILE    wishd's token secret (wishd command)\n"
        "  --city NAME           [jinan]\n"
        "  --cities A,B,...      (cluster) the cities, each its own slot\n"
        "  --versus HOST:PORT    (cluster) a second cluster, set up the\n"
        "                        same way; the two post in turns\n"
        "  --block N             (cluster, --versus) posts a city per\n"
        "                        turn [all in one]\n"

        "  --seconds S           (direct, wishd) how long to send [10]\n"
        "  --requests N          (direct, wishd) stop after N [no limit];\n"
        "                        (cluster) posts per city [1000]\n"
        "  --pipeline N          requests in flight per connection [32]\n"
        "  --connections N       (wishd) [8]\n"
        "  --rate R              (wishd) open loop, requests/s [0: closed]\n"
        "  --agents N            (wishd) volunteers that accept offers:\n"
        "                        v0..v(N-1) connected from the start, the\n"
        "                        others on their first offer [no agents]\n"
        "  --max-sessions N      (wishd) on-demand sessions held [2000]\n"
        "  --assign-wait S       (wishd) wait for `assigned` events [60]\n"
        "  --warmup S            (wishd) latencies of posts due in the\n"
        "                        first S seconds are not recorded [0]\n"
        "  --volunteers N        (seed, quality) city size [10000]\n"
        "  --tasks N             (quality) [1000]\n"
        "  --candidates K        (quality) fitting volunteers per task in\n"
        "                        the optimum, nearest first [64]\n"
        "  --wishd-pid PID       (conns, idle) whose VmRSS to read\n"
        "  --transport T         (rtt, idle) tcp, or ws: a WebSocket to\n"
        "                        --port, wishd's HTTP port [tcp]\n"
        "  --method M            (rtt) ping, or post: task.post as a\n"
        "                        coordinator [ping]\n"
        "  --think-ms MS         (crowd) mean pause between a connection's\n"
        "                        chunks [500]\n"
        "  --pings N             (crowd) round trips per block; 0: the\n"
        "                        crowd only, for --seconds [400]\n"
        "  --accounts N          (logins) accounts made [100]\n"
        "  --kdf-memory KIB      (logins) wishd's kdf-memory [its default]\n"
        "  --kdf-time N          (logins) wishd's kdf-time [its default]\n"
        "  --seed N              random seed [1]\n"
        "  --label TEXT          name of the run in the output\n"
        "  --json                one JSON object instead of a line\n");
}

static int wb_parse_opts(int argc, char **argv, wb_opts *o)
{
    static const struct option longs[] = {
        {"redis-socket", required_argument, NULL, 'S'},
        {"redis", required_argument, NULL, 'R'},
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"secret-file", required_argument, NULL, 'k'},
        {"city", required_argument, NULL, 'c'},
        {"volunteers", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 't'},
        {"requests", required_argument, NULL, 'N'},
        {"pipeline", required_argument, NULL, 'P'},
        {"connections", required_argument, NULL, 'C'},
        {"rate", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"label", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"agents", required_argument, NULL, 'A'},
        {"max-sessions", required_argument, NULL, 'M'},
        {"assign-wait", required_argument, NULL, 'W'},
        {"warmup", required_argument, NULL, 'U'},
        {"tasks", required_argument, NULL, 'T'},
        {"candidates", required_argument, NULL, 'K'},
        {"wishd-pid", required_argument, NULL, 'D'},
        {"think-ms", required_argument, NULL, 'I'},
        {"pings", required_argument, NULL, 'G'},
        {"accounts", required_argument, NULL, 'a'},
        {"kdf-memory", required_argument, NULL, 'm'},
        {"kdf-time", required_argument, NULL, 'i'},
        {"transport", required_argument, NULL, 'X'},
        {"method", required_argument, NULL, 'Y'},
        {"cities", required_argument, NULL, 'L'},
        {"versus", required_argument, NULL, 'V'},
        {"block", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    *o = (wb_opts){.redis_host = "127.0.0.1", .redis_port = 6379,
                   .host = "127.0.0.1", .port = 7400, .city = "jinan",
                   .volunteers = 10000, .seconds = 10, .pipeline = 32,
                   .connections = 8, .seed = 1, .label = "",
                   .agents = -1, .max_sessions = 2000, .assign_wait = 60,
                   .tasks = 1000, .candidates = 64, .think_ms = 500,
                   .pings = 400, .accounts = 100, .ping = 1};
    /* the KDF as a wishd with no settings hashes */
    wish_config defaults;
    config_defaults(&defaults);
    o->kdf_memory = (long)defaults.kdf_memory;
    o->kdf_time = (long)defaults.kdf_time;
    if (argc < 2) return -1;
    o->cmd = argv[1];
    if (strcmp(o->cmd, "--help") == 0) {
        wb_usage(stdout);
        exit(0);
    }
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'S': o->redis_socket = optarg; break;
        case 'R': {
            const char *colon = strrchr(optarg, ':');
            if (colon == NULL) return -1;
            static char host[256];
            snprintf(host, sizeof(host), "%.*s", (int)(colon - optarg),
                     optarg);
            o->redis_host = host;
            o->redis_port = atoi(colon + 1);
            break;
        }
        case 'h': o->host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'k': o->secret_file = optarg; break;
        case 'c': o->city = optarg; break;
        case 'n': o->volunteers = atol(optarg); break;
        case 't': o->seconds = atof(optarg); break;
        case 'N': o->max_requests = atol(optarg); break;
        case 'P': o->pipeline = atoi(optarg); break;
        case 'C': o->connections = atoi(optarg); break;
        case 'r': o->rate = atof(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'l': o->label = optarg; break;
        case 'j': o->json = 1; break;
        case 'A': o->agents = atol(optarg); break;
        case 'M': o->max_sessions = atol(optarg); break;
        case 'W': o->assign_wait = atof(optarg); break;
        case 'U': o->warmup = atof(optarg); break;
        case 'T': o->tasks = atol(optarg); break;
        case 'K': o->candidates = atol(optarg); break;
        case 'D': o->wishd_pid = atoi(optarg); break;
        case 'I': o->think_ms = atoi(optarg); break;
        case 'G': o->pings = atoi(optarg); break;
        case 'a': o->accounts = atol(optarg); break;
        case 'm': o->kdf_memory = atol(optarg); break;
        case 'i': o->kdf_time = atol(optarg); break;
        case 'X':
            if (strcmp(optarg, "ws") == 0) o->ws = 1;
            else if (strcmp(optarg, "tcp") == 0) o->ws = 0;
            else return -1;
            break;
        case 'Y':
            if (strcmp(optarg, "ping") == 0) o->ping = 1;
            else if (strcmp(optarg, "post") == 0) o->ping = 0;
            else return -1;
            break;
        case 'L': o->cities = optarg; break;
        case 'V': {
            const char *colon = strrchr(optarg, ':');
            if (colon == NULL) return -1;
            static char vhost[256];
            snprintf(vhost, sizeof(vhost), "%.*s", (int)(colon - optarg),
                     optarg);
            o->versus_host = vhost;
            o->versus_port = atoi(colon + 1);
            break;
        }
        case 'B': o->block = atol(optarg); break;
        case 'H':
            wb_usage(stdout);
            exit(0);
        default: return -1;
        }
    }
    if (optind != argc || o->volunteers < 1 || o->seconds <= 0 ||
        o->pipeline < 1 || o->pipeline > 2000 || o->connections < 1 ||
        o->connections > 60000 || o->rate < 0 || o->max_requests < 0 ||
        o->agents > 60000 || o->max_sessions < 1 || o->assign_wait < 0 ||
        o->warmup < 0 || o->warmup >= o->seconds ||
        o->tasks < 1 || o->tasks > 100000 || o->candidates < 1 ||
        o->think_ms < 1 || o->pings < 0 || o->accounts < 1 ||
        o->accounts > 100000 || o->kdf_memory < 8 ||
        o->kdf_memory > 4 * 1024 * 1024 || o->kdf_time < 1 ||
        o->kdf_time > 1000 || o->block < 0 ||
        (o->versus_host && (o->versus_port < 1 || o->versus_port > 65535)))
        return -1;
    return 0;
}

/* ========================================================================
 * The city model: Jinan's districts, denser at the centres
 * ===================================================================== */

typedef struct district {
    const char *name;
    double lon, lat;
    double sigma_km; /* spread around the centre */
    double weight;   /* share of the population */
} district;

static const district DISTRICTS[] = {
    {"lixia", 117.076, 36.666, 2.5, 0.17},
    {"shizhong", 116.998, 36.651, 2.5, 0.16},
    {"tianqiao", 116.987, 36.693, 2.5, 0.12},
    {"huaiyin", 116.901, 36.652, 3.0, 0.12},
    {"licheng", 117.140, 36.690, 5.0, 0.15},
    {"changqing", 116.752, 36.553, 4.0, 0.07},
    {"zhangqiu", 117.526, 36.681, 5.0, 0.12},
    {"laiwu", 117.676, 36.214, 5.0, 0.09},
};
#define NDISTRICTS (sizeof(DISTRICTS) / sizeof(DISTRICTS[0]))

typedef struct skill {
    const char *name;
    double supply; /* share of volunteers who have it */
    double demand; /* share of tasks that need it */
} skill;

static const skill SKILLS[] = {
    {"errand", 0.45, 0.30},   {"elder_care", 0.40, 0.25},
    {"tutoring", 0.15, 0.12}, {"repair", 0.12, 0.10},
    {"medical", 0.08, 0.08},  {"transport", 0.10, 0.08},
    {"legal", 0.04, 0.04},    {"psychology", 0.04, 0.03},
};
#define NSKILLS (sizeof(SKILLS) / sizeof(SKILLS[0]))

static double wb_gauss(uint64_t *rng)
{
    double u = wb_rand01(rng), v = wb_rand01(rng);
    if (u < 1e-12) u = 1e-12;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* A place drawn from the population: 85 % around a district centre
 * (normal, sigma_km), 15 % spread evenly within 3 sigma. */
static const district *wb_draw_place(uint64_t *rng, double *lon, double *lat)
{
    double x = wb_rand01(rng), acc = 0;
    const district *d = &DISTRICTS[NDISTRICTS - 1];
    for (size_t i = 0; i < NDISTRICTS; i++) {
        acc += DISTRICTS[i].weight;
        if (x < acc) {
            d = &DISTRICTS[i];
            break;
        }
    }
    double dx, dy;
    if (wb_rand01(rng) < 0.85) {
        dx = wb_gauss(rng) * d->sigma_km;
        dy = wb_gauss(rng) * d->sigma_km;
    } else {
        dx = (wb_rand01(rng) * 2 - 1) * 3 * d->sigma_km;
        dy = (wb_rand01(rng) * 2 - 1) * 3 * d->sigma_km;
    }
    *lat = d->lat + dy / 111.32;
    *lon = d->lon + dx / (111.32 * cos(d->lat * M_PI / 180));
    return d;
}

void wb_task_draw(uint64_t *rng, int64_t now, const char *city, wb_task *t)
{
    const district *d = wb_draw_place(rng, &t->lon, &t->lat);
    t->district = (int)(d - DISTRICTS);
    double x = wb_rand01(rng), acc = 0;
    t->skill = SKILLS[0].name;
    for (size_t i = 0; i < NSKILLS; i++) {
        acc += SKILLS[i].demand;
        if (x < acc * 1.0 / 1.0) {
            t->skill = SKILLS[i].name;
            break;
        }
    }
    /* Tomorrow or within a week, starting 08:00..18:00 local (UTC+8),
     * one or two hours: inside the volunteers' 08:00-21:00 slots. */
    int64_t local = now + 480 * 60;
    int64_t day0 = local - local % 86400 - 480 * 60; /* local midnight */
    int64_t day = 1 + (int64_t)(wb_rand(rng) % 6);
    int64_t hour = 8 + (int64_t)(wb_rand(rng) % 11);
    t->start = day0 + day * 86400 + hour * 3600;
    t->end = t->start + 3600 * (1 + (int64_t)(wb_rand(rng) % 2));
    unsigned street = (unsigned)(wb_rand(rng) % 20);
    unsigned community = (unsigned)(wb_rand(rng) % 30);
    snprintf(t->region, sizeof(t->region), "%s/%s/s%u/c%u", city, d->name,
             street, community);
}

static void wb_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    proto_pack_cstr(pk, k);
    proto_pack_cstr(pk, v);
}

static void wb_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    proto_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

static void wb_kv_double(msgpack_packer *pk, const char *k, double v)
{
    proto_pack_cstr(pk, k);
    msgpack_pack_double(pk, v);
}

void wb_task_pack(msgpack_packer *pk, const wb_task *t, uint64_t n)
{
    char title[48];
    snprintf(title, sizeof(title), "bench task %llu", (unsigned long long)n);
    msgpack_pack_map(pk, 7);
    wb_kv_str(pk, "title", title);
    wb_kv_str(pk, "skill", t->skill);
    wb_kv_double(pk, "lon", t->lon);
    wb_kv_double(pk, "lat", t->lat);
    wb_kv_int(pk, "start", t->start);
    wb_kv_int(pk, "end", t->end);
    wb_kv_str(pk, "region", t->region);
}

/* A volunteer as seeded: home, 1-3 skills by supply, radius, weekly
 * 08:00-21:00 on `days` days from weekday `first`, max_active 3,
 * available, scope its district. The quality benchmark draws the same
 * city again from the same seed to know who fits what. */
typedef struct wb_vol {
    double lon, lat;
    int district;
    unsigned skills; /* bit i: SKILLS[i] */
    int radius;      /* metres */
    int days, first; /* weekdays first .. first+days-1 (mod 7), 0 = Sun */
} wb_vol;

#define VOL_MAX_ACTIVE 3

static void wb_volunteer_draw(uint64_t *rng, wb_vol *v)
{
    const district *d = wb_draw_place(rng, &v->lon, &v->lat);
    v->district = (int)(d - DISTRICTS);
    v->skills = 0;
    size_t ns = 0;
    for (size_t i = 0; i < NSKILLS; i++)
        if (wb_rand01(rng) < SKILLS[i].supply && ns < 3) { /* first 3 */
            v->skills |= 1u << i;
            ns++;
        }
    if (ns == 0) v->skills |= 1u << (wb_rand(rng) % 2);
    static const int radii[] = {3000, 5000, 5000, 8000};
    v->days = 3 + (int)(wb_rand(rng) % 5);
    v->first = (int)(wb_rand(rng) % 7);
    v->radius = radii[wb_rand(rng) % 4];
}

/* Packs the volunteer.update params of v; its scope (a district of
 * city) into region[size]. */
static void wb_volunteer_pack(const wb_vol *v, long n, const char *city,
                              msgpack_packer *pk, char *region, size_t size)
{
    snprintf(region, size, "%s/%s", city, DISTRICTS[v->district].name);
    char name[32];
    snprintf(name, sizeof(name), "Volunteer %ld", n);
    uint32_t ns = (uint32_t)__builtin_popcount(v->skills);
    msgpack_pack_map(pk, 8);
    wb_kv_str(pk, "name", name);
    proto_pack_cstr(pk, "skills");
    msgpack_pack_array(pk, ns);
    for (size_t i = 0; i < NSKILLS; i++)
        if (v->skills & (1u << i)) proto_pack_cstr(pk, SKILLS[i].name);
    wb_kv_double(pk, "lon", v->lon);
    wb_kv_double(pk, "lat", v->lat);
    wb_kv_int(pk, "radius", v->radius);
    wb_kv_int(pk, "max_active", VOL_MAX_ACTIVE);
    proto_pack_cstr(pk, "weekly");
    msgpack_pack_array(pk, (uint32_t)v->days);
    for (int i = 0; i < v->days; i++) {
        msgpack_pack_array(pk, 3);
        msgpack_pack_int(pk, (v->first + i) % 7);
        proto_pack_cstr(pk, "08:00");
        proto_pack_cstr(pk, "21:00");
    }
    proto_pack_cstr(pk, "available");
    msgpack_pack_true(pk);
}

/* ========================================================================
 * The direct caller: FCALL exactly as server/fcall.c sends it
 * ===================================================================== */

/* The settings map of wishd's defaults, packed as wishd packs its own,
 * but for the cap on one coordinator's open posts: wishbench posts a
 * whole city's tasks as one coordinator (bench/run.sh gives its wishd
 * the same). The check itself still runs. On a cluster the map says so,
 * as a wishd with redis-cluster does (any seed list will do: only its
 * presence is sent). */
void wb_pack_settings(msgpack_sbuffer *sb, int cluster)
{
    wish_config cfg;
    config_defaults(&cfg);
    cfg.max_open_posts = 1000000;
    if (cluster)
        snprintf(cfg.redis_cluster, sizeof(cfg.redis_cluster), "cluster");
    if (settings_pack(&cfg, sb) != 0) {
        fprintf(stderr, "wishbench: out of memory\n");
        exit(1);
    }
}

static redisContext *wb_redis_open(const wb_opts *o)
{
    struct timeval tv = {10, 0};
    redisContext *rc =
        o->redis_socket
            ? redisConnectUnixWithTimeout(o->redis_socket, tv)
            : redisConnectWithTimeout(o->redis_host, o->redis_port, tv);
    if (rc == NULL || rc->err) {
        fprintf(stderr, "wishbench: cannot reach redis: %s\n",
                rc ? rc->errstr : "out of memory");
        if (rc) redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, (struct timeval){30, 0});
    return rc;
}

double wb_redis_info(redisContext *rc, const char *section,
                     const char *field)
{
    redisReply *r = redisCommand(rc, "INFO %s", section);
    double v = NAN;
    if (r && r->type == REDIS_REPLY_STRING) {
        char pat[96];
        snprintf(pat, sizeof(pat), "\n%s:", field);
        const char *p = strstr(r->str, pat);
        if (p) v = atof(p + strlen(pat));
    }
    if (r) freeReplyObject(r);
    return v;
}

/* usec_per_call and calls of FCALL from INFO commandstats. */
static void wb_redis_fcall_stats(redisContext *rc, double *usec_per_call,
                                 double *calls)
{
    *usec_per_call = NAN;
    *calls = 0;
    redisReply *r = redisCommand(rc, "INFO commandstats");
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "cmdstat_fcall:");
        if (p) {
            const char *c = strstr(p, "calls=");
            const char *u = strstr(p, "usec_per_call=");
            if (c) *calls = atof(c + 6);
            if (u) *usec_per_call = atof(u + 14);
        }
    }
    if (r) freeReplyObject(r);
}

/* The commands the functions ran, from INFO commandstats: calls per op
 * (FCALL and the bench's own INFO/CONFIG left out) into *calls_per_op,
 * and the five costliest as "cmd:calls/us," per op into top[size]. */
static void wb_redis_nested_stats(redisContext *rc, double ops,
                                  double *calls_per_op, char *top, size_t size)
{
    struct {
        char name[40];
        double calls, usec;
    } best[5] = {{"", 0, 0}};
    double total = 0;
    top[0] = '\0';
    redisReply *r = redisCommand(rc, "INFO commandstats");
    if (r && r->type == REDIS_REPLY_STRING && ops > 0) {
        for (const char *p = strstr(r->str, "cmdstat_"); p != NULL;
             p = strstr(p + 1, "cmdstat_")) {
            char name[40];
            double calls, usec;
            if (sscanf(p, "cmdstat_%39[^:]:calls=%lf,usec=%lf", name, &calls,
                       &usec) != 3)
                continue;
            if (strcmp(name, "fcall") == 0 || strcmp(name, "info") == 0 ||
                strncmp(name, "config", 6) == 0)
                continue;
            total += calls;
            for (int i = 0; i < 5; i++) {
                if (usec > best[i].usec) {
                    memmove(&best[i + 1], &best[i],
                            sizeof(best[0]) * (size_t)(4 - i));
                    snprintf(best[i].name, sizeof(best[i].name), "%s", name);
                    best[i].calls = calls;
                    best[i].usec = usec;
                    break;
                }
            }
        }
        size_t used = 0;
        for (int i = 0; i < 5 && best[i].calls > 0 && used < size; i++) {
            int n = snprintf(top + used, size - used, "%s%s:%.2f/%.1fus",
                             i ? " " : "", best[i].name, best[i].calls / ops,
                             best[i].usec / ops);
            if (n < 0) break;
            used += (size_t)n;
        }
    }
    if (r) freeReplyObject(r);
    *calls_per_op = ops > 0 ? total / ops : NAN;
}

double wb_redis_cpu(redisContext *rc)
{
    return wb_redis_info(rc, "cpu", "used_cpu_user") +
           wb_redis_info(rc, "cpu", "used_cpu_sys");
}

static int wb_redis_simple(redisContext *rc, const char *what, redisReply *r)
{
    int bad = r == NULL || r->type == REDIS_REPLY_ERROR;
    if (bad)
        fprintf(stderr, "wishbench: %s failed: %s\n", what,
                r ? r->str : rc->errstr);
    if (r) freeReplyObject(r);
    return bad ? -1 : 0;
}

void wb_append_fcall(redisContext *rc, const char *fn, const char *city,
                     int64_t now, const msgpack_sbuffer *sb,
                     size_t caller_len, const msgpack_sbuffer *settings)
{
    match_call call;
    if (match_call_init(&call, fn, city, now, sb, caller_len, settings) !=
        0) {
        fprintf(stderr, "wishbench: city name too long: %s\n", city);
        exit(2);
    }
    redisAppendCommandArgv(rc, MATCH_CALL_ARGC, call.argv, call.lens);
}

static int wb_take_reply(redisContext *rc, wb_direct_stats *st)
{
    redisReply *r = NULL;
    if (redisGetReply(rc, (void **)&r) != REDIS_OK || r == NULL) {
        fprintf(stderr, "wishbench: redis: %s\n", rc->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (st->errors++ == 0)
            snprintf(st->first_error, sizeof(st->first_error), "%s", r->str);
    } else {
        st->ok++;
    }
    freeReplyObject(r);
    return 0;
}

/* ------------------------------------------------------------------------
 * Output
 * --------------------------------------------------------------------- */

typedef struct out_field {
    const char *name;
    double value;
    const char *text; /* when non-NULL, a string field */
} out_field;

static void wb_report(const wb_opts *o, const out_field *f, size_t n)
{
    if (o->json) {
        printf("{\"command\":\"%s\",\"label\":\"%s\"", o->cmd, o->label);
        for (size_t i = 0; i < n; i++) {
            if (f[i].text)
                printf(",\"%s\":\"%s\"", f[i].name, f[i].text);
            else if (isnan(f[i].value))
                printf(",\"%s\":null", f[i].name);
            else
                printf(",\"%s\":%.6g", f[i].name, f[i].value);
        }
        printf("}\n");
    } else {
        printf("wishbench %s%s%s:", o->cmd, *o->label ? " " : "", o->label);
        for (size_t i = 0; i < n; i++) {
            if (f[i].text) printf(" %s=%s", f[i].name, f[i].text);
            else printf(" %s=%.6g", f[i].name, f[i].value);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* ========================================================================
 * seed
 * ===================================================================== */

#define SEED_BATCH 256

int wb_seed_city(redisContext *rc, const char *city, long volunteers,
                 uint64_t seed, const msgpack_sbuffer *settings,
                 wb_direct_stats *st)
{
    msgpack_sbuffer sb, params;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&params);
    msgpack_packer pk, ppk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_packer_init(&ppk, &params, msgpack_sbuffer_write);
    int64_t now = (int64_t)time(NULL);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
    uint64_t t0 = wb_now_us(), last = t0;
    int tty = isatty(2);
    int rcode = 0;
    for (long i = 0; i < volunteers;) {
        long batch = volunteers - i < SEED_BATCH ? volunteers - i
                                                 : SEED_BATCH;
        for (long b = 0; b < batch; b++) {
            char user[32], region[160];
            snprintf(user, sizeof(user), "v%ld", i + b);
            msgpack_sbuffer_clear(&sb);
            /* the params decide the region, so pack them aside first */
            msgpack_sbuffer_clear(&params);
            wb_vol v;
            wb_volunteer_draw(&rng, &v);
            wb_volunteer_pack(&v, i + b, city, &ppk, region, sizeof(region));
            match_pack_caller(&pk, user, "volunteer", region);
            size_t caller_len = sb.size;
            msgpack_sbuffer_write(&sb, params.data, params.size);
            wb_append_fcall(rc, "wish_volunteer_update", city, now, &sb,
                            caller_len, settings);
        }
        for (long b = 0; b < batch; b++)
            if (wb_take_reply(rc, st) != 0) {
                rcode = -1;
                goto out;
            }
        i += batch;
        uint64_t t = wb_now_us();
        if (tty && t - last > 1000000) {
            fprintf(stderr, "\r  seed %s: %ld/%ld  %.0f/s   ", city, i,
                    volunteers, (double)i * 1e6 / (double)(t - t0));
            last = t;
        }
    }
    if (tty && wb_now_us() - t0 > 1000000) fputc('\n', stderr);
out:
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&params);
    return rcode;
}

static int wb_cmd_seed(const wb_opts *o)
{
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    if (wb_redis_simple(rc, "FUNCTION LOAD",
                        redisCommand(rc, "FUNCTION LOAD REPLACE %s",
                                     match_lua_source)) != 0) {
        redisFree(rc);
        return 1;
    }
    char key[140];
    snprintf(key, sizeof(key), "{%s}", o->city);
    double mem0 = wb_redis_info(rc, "memory", "used_memory");
    msgpack_sbuffer settings;
    msgpack_sbuffer_init(&settings);
    wb_pack_settings(&settings, 0);
    wb_direct_stats st = {0};
    uint64_t t0 = wb_now_us();
    int rcode = 0;
    if (wb_seed_city(rc, o->city, o->volunteers, o->seed, &settings, &st) !=
        0) {
        rcode = 69;
        goto out;
    }
    double secs = (double)(wb_now_us() - t0) / 1e6;
    double mem1 = wb_redis_info(rc, "memory", "used_memory");
    /* MEMORY USAGE of a sample of profile hashes: the bytes of the keys
     * themselves, which only Redis can tell, so the key names are built
     * here (docs/matching.md, "Key schema") */
    double prof = 0;
    int sampled = 0;
    for (long i = 0; i < o->volunteers && sampled < 200;
         i += o->volunteers / 200 + 1) {
        redisReply *r =
            redisCommand(rc, "MEMORY USAGE %s:user:v%ld SAMPLES 0", key, i);
        if (r && r->type == REDIS_REPLY_INTEGER) {
            prof += (double)r->integer;
            sampled++;
        }
        if (r) freeReplyObject(r);
    }
    out_field f[] = {
        {"volunteers", (double)o->volunteers, NULL},
        {"errors", (double)st.errors, NULL},
        {"seconds", secs, NULL},
        {"per_s", (double)o->volunteers / secs, NULL},
        {"bytes_per_volunteer", (mem1 - mem0) / (double)o->volunteers, NULL},
        {"profile_hash_bytes", sampled ? prof / sampled : NAN, NULL},
        {"used_memory", mem1, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (st.errors) {
        fprintf(stderr, "wishbench: first error: %s\n", st.first_error);
        rcode = 1;
    }
out:
    msgpack_sbuffer_destroy(&settings);
    redisFree(rc);
    return rcode;
}

/* ========================================================================
 * direct: the ceiling
 * ===================================================================== */

static int wb_cmd_direct(const wb_opts *o)
{
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    msgpack_sbuffer settings, sb;
    msgpack_sbuffer_init(&settings);
    msgpack_sbuffer_init(&sb);
    wb_pack_settings(&settings, 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint64_t rng = o->seed * 0x2545F4914F6CDD1Dull + 7;
    wb_direct_stats st = {0};
    wb_redis_simple(rc, "CONFIG RESETSTAT",
                    redisCommand(rc, "CONFIG RESETSTAT"));
    double cpu0 = wb_redis_cpu(rc);
    uint64_t t0 = wb_now_us(), stop = t0 + (uint64_t)(o->seconds * 1e6);
    uint64_t last = t0, sent = 0, last_ok = 0;
    int tty = isatty(2), rcode = 0;
    int64_t wall = (int64_t)time(NULL);
    uint64_t limit = o->max_requests ? (uint64_t)o->max_requests : UINT64_MAX;
    for (;;) {
        uint64_t t = wb_now_us();
        /* keep `pipeline` in flight: one reply taken, one sent */
        while (sent - st.ok - st.errors < (uint64_t)o->pipeline &&
               t < stop && sent < limit) {
            msgpack_sbuffer_clear(&sb);
            match_pack_caller(&pk, "coord-bench", "coordinator", o->city);
            size_t caller_len = sb.size;
            wb_task task;
            wb_task_draw(&rng, wall, o->city, &task);
            wb_task_pack(&pk, &task, ++sent);
            wb_append_fcall(rc, "wish_task_post", o->city, wall, &sb,
                            caller_len, &settings);
        }
        if (sent == st.ok + st.errors) break;
        if (wb_take_reply(rc, &st) != 0) {
            rcode = 69;
            break;
        }
        if (tty && t - last > 1000000) {
            fprintf(stderr, "\r  direct: %8llu ok %8.0f/s   ",
                    (unsigned long long)st.ok,
                    (double)(st.ok - last_ok) * 1e6 / (double)(t - last));
            last = t;
            last_ok = st.ok;
            wall = (int64_t)time(NULL);
        }
    }
    if (tty) fputc('\n', stderr);
    double secs = (double)(wb_now_us() - t0) / 1e6;
    double cpu1 = wb_redis_cpu(rc);
    double upc, calls;
    wb_redis_fcall_stats(rc, &upc, &calls);
    double cpo;
    char top[256];
    wb_redis_nested_stats(rc, calls, &cpo, top, sizeof(top));
    out_field f[] = {
        {"ok", (double)st.ok, NULL},
        {"errors", (double)st.errors, NULL},
        {"seconds", secs, NULL},
        {"per_s", (double)st.ok / secs, NULL},
        {"fcall_usec_per_call", upc, NULL},
        {"redis_cpu_us_per_op", (cpu1 - cpu0) * 1e6 / (double)(st.ok + 1),
         NULL},
        {"redis_calls_per_op", cpo, NULL},
        {"top_commands_per_op", 0, top},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (st.errors) fprintf(stderr, "wishbench: first error: %s\n",
                           st.first_error);
    msgpack_sbuffer_destroy(&settings);
    msgpack_sbuffer_destroy(&sb);
    redisFree(rc);
    return rcode;
}

/* ========================================================================
 * wishd: the same posts through the daemon
 * ===================================================================== */

typedef struct agents_start_ctx {
    const wb_agents_opts *ao;
    wb_agents_proc *ap;
    long want;
} agents_start_ctx;

/* After the coordinator's hellos: the agents, then a moment for wishd to
 * replay their inboxes before the first post. */
static int wb_agents_after_hello(void *arg)
{
    agents_start_ctx *x = arg;
    uint64_t a0 = wb_now_us();
    if (wb_agents_start(x->ao, x->ap) != 0) {
        fprintf(stderr, "wishbench: the agents did not start\n");
        return -1;
    }
    if (isatty(2))
        fprintf(stderr, "  agents: %ld of %ld connected in %.1f s\n",
                x->ap->ready, x->want, (double)(wb_now_us() - a0) / 1e6);
    usleep(2000000);
    return 0;
}

/* Reads --secret-file into secret[size]; returns its length, or -1 after
 * saying why on stderr. */
static int wb_read_secret(const wb_opts *o, unsigned char *secret,
                          size_t size)
{
    char why[160];
    int len = token_read_secret(o->secret_file, secret, size, why,
                                sizeof(why));
    if (len < 0) fprintf(stderr, "wishbench: %s\n", why);
    return len;
}

static int wb_cmd_wishd(const wb_opts *o)
{
    if (o->secret_file == NULL) {
        fprintf(stderr, "wishbench: wishd needs --secret-file\n");
        return 2;
    }
    unsigned char secret[TOKEN_SECRET_MAX];
    int slen = wb_read_secret(o, secret, sizeof(secret));
    if (slen < 0) return 2;
    token_claims cl = {.role = ROLE_COORDINATOR};
    snprintf(cl.user, sizeof(cl.user), "coord-bench");
    snprintf(cl.region, sizeof(cl.region), "%s", o->city);
    cl.issued = (int64_t)time(NULL);
    cl.expires = cl.issued + 86400;
    char token[TOKEN_MAX];
    if (token_mint(secret, (size_t)slen, &cl, token, sizeof(token)) != 0) {
        fprintf(stderr, "wishbench: cannot mint a token\n");
        return 2;
    }
    wb_agents_proc ap = {0};
    wb_agents_opts ao = {.host = o->host, .port = o->port,
                         .redis_socket = o->redis_socket,
                         .redis_host = o->redis_host,
                         .redis_port = o->redis_port, .city = o->city,
                         .secret = secret, .secret_len = (size_t)slen,
                         .preconnect = o->agents,
                         .max_sessions = o->max_sessions,
                         .max_seconds = o->seconds + o->assign_wait + 180};
    agents_start_ctx actx = {&ao, &ap, o->agents};
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    wb_redis_simple(rc, "CONFIG RESETSTAT",
                    redisCommand(rc, "CONFIG RESETSTAT"));
    double cpu0 = wb_redis_cpu(rc);
    wb_net_opts no = {.host = o->host,
                      .port = o->port,
                      .token = token,
                      .city = o->city,
                      .connections = o->connections,
                      .pipeline = o->pipeline,
                      .rate = o->rate,
                      .seconds = o->seconds,
                      .seed = o->seed * 0x2545F4914F6CDD1Dull + 7,
                      .progress = isatty(2),
                      .max_requests = (uint64_t)o->max_requests,
                      .track_assigned = o->agents >= 0,
                      .retry_unavailable = o->max_requests > 0,
                      .after_hello =
                          o->agents >= 0 ? wb_agents_after_hello : NULL,
                      .after_hello_arg = &actx,
                      .warmup_s = o->warmup,
                      .assign_wait_s = o->assign_wait};
    wb_net_result *res = calloc(1, sizeof(*res));
    wb_agents_stats ast = {0};
    int net = res ? wb_net_post(&no, res) : -1;
    double cpu1 = wb_redis_cpu(rc);
    if (ap.pid > 0 && wb_agents_stop(&ap, &ast) != 0)
        fprintf(stderr, "wishbench: no counts from the agents\n");
    if (net != 0) {
        free(res);
        redisFree(rc);
        return 69;
    }
    double upc, calls;
    wb_redis_fcall_stats(rc, &upc, &calls);
    double cpo;
    char top[256];
    wb_redis_nested_stats(rc, calls, &cpo, top, sizeof(top));
    out_field f[] = {
        {"ok", (double)res->ok, NULL},
        {"errors", (double)res->errors, NULL},
        {"late", (double)res->late, NULL},
        {"retried", (double)res->retried, NULL},
        {"seconds", res->elapsed_s, NULL},
        {"per_s", (double)res->ok / res->elapsed_s, NULL},
        {"warmup_s", o->warmup, NULL},
        {"p50_ms", wb_hist_quantile(&res->lat, 0.50) / 1000, NULL},
        {"p99_ms", wb_hist_quantile(&res->lat, 0.99) / 1000, NULL},
        {"p999_ms", wb_hist_quantile(&res->lat, 0.999) / 1000, NULL},
        {"max_ms", (double)res->lat.max_us / 1000, NULL},
        {"fcall_usec_per_call", upc, NULL},
        {"redis_cpu_us_per_op", (cpu1 - cpu0) * 1e6 / (double)(res->ok + 1),
         NULL},
        {"redis_calls_per_op", cpo, NULL},
        {"top_commands_per_op", 0, top},
        /* with agents: post -> `assigned` */
        {"assigned", (double)res->assigned, NULL},
        {"assign_seconds", res->assign_s, NULL},
        {"matches_per_s",
         res->assign_s > 0 ? (double)res->assigned / res->assign_s : NAN,
         NULL},
        {"asg_p50_ms", wb_hist_quantile(&res->asg_lat, 0.50) / 1000, NULL},
        {"asg_p99_ms", wb_hist_quantile(&res->asg_lat, 0.99) / 1000, NULL},
        {"asg_p999_ms", wb_hist_quantile(&res->asg_lat, 0.999) / 1000, NULL},
        {"asg_max_ms", (double)res->asg_lat.max_us / 1000, NULL},
        {"redis_cpu_us_per_match",
         res->assigned ? (cpu1 - cpu0) * 1e6 / (double)res->assigned : NAN,
         NULL},
        {"agent_offers", (double)ast.offers, NULL},
        {"agent_accepted", (double)ast.accepted, NULL},
        {"agent_conflicts", (double)ast.conflicts, NULL},
        {"agent_errors", (double)(ast.errors + ast.session_errors), NULL},
        {"agent_sessions", (double)ast.sessions, NULL},
    };
    size_t nf = sizeof(f) / sizeof(f[0]);
    wb_report(o, f, o->agents >= 0 ? nf : nf - 14);
    if (ast.first_error[0])
        fprintf(stderr, "wishbench: agents' first error: %s\n",
                ast.first_error);
    if (res->errors)
        fprintf(stderr, "wishbench: first error: %llu %s\n",
                (unsigned long long)res->first_error_code, res->first_error);
    free(res);
    redisFree(rc);
    return 0;
}

/* ========================================================================
 * memory: inboxes
 * ===================================================================== */

static int wb_cmd_memory(const wb_opts *o)
{
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    /* the bytes of the inbox keys themselves, which only Redis can tell:
     * their names are built here (docs/matching.md, "Key schema") */
    char pat[160];
    snprintf(pat, sizeof(pat), "{%s}:inbox:*", o->city);
    double bytes = 0, events = 0;
    long n = 0;
    char cursor[32] = "0";
    uint64_t deadline = wb_now_us() + 30000000;
    do {
        redisReply *r =
            redisCommand(rc, "SCAN %s MATCH %s COUNT 1000", cursor, pat);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements && n < 2000; i++) {
            redisReply *m = redisCommand(rc, "MEMORY USAGE %s SAMPLES 0",
                                         keys->element[i]->str);
            redisReply *l = redisCommand(rc, "LLEN %s", keys->element[i]->str);
            if (m && m->type == REDIS_REPLY_INTEGER && l &&
                l->type == REDIS_REPLY_INTEGER) {
                bytes += (double)m->integer;
                events += (double)l->integer;
                n++;
            }
            if (m) freeReplyObject(m);
            if (l) freeReplyObject(l);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && n < 2000 && wb_now_us() < deadline);
    out_field f[] = {
        {"inboxes_sampled", (double)n, NULL},
        {"bytes_per_inbox", n ? bytes / n : NAN, NULL},
        {"events_per_inbox", n ? events / n : NAN, NULL},
        {"bytes_per_event", events > 0 ? bytes / events : NAN, NULL},
        {"used_memory", wb_redis_info(rc, "memory", "used_memory"), NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    redisFree(rc);
    return 0;
}

/* ========================================================================
 * quality: our assignment vs the optimum
 * ===================================================================== */

#define EARTH_M 6372797.560856 /* Redis's GEO radius */

static double wb_geo_dist(double lon1, double lat1, double lon2, double lat2)
{
    double r = M_PI / 180;
    double u = sin((lat2 - lat1) * r / 2), v = sin((lon2 - lon1) * r / 2);
    double a = u * u + cos(lat1 * r) * cos(lat2 * r) * v * v;
    return 2 * EARTH_M * asin(sqrt(a));
}

static int wb_skill_index(const char *name)
{
    for (size_t i = 0; i < NSKILLS; i++)
        if (strcmp(SKILLS[i].name, name) == 0) return (int)i;
    return -1;
}

/* Whether v may be offered t by the rules of docs/protocol.md, from the
 * seed data: skill, scope (its district), weekly slot (08:00-21:00 on
 * its days, city time UTC+8), distance within its radius. Load and
 * clashes are left to the assignment's capacities. Sets *dist. */
static int wb_vol_fits(const wb_vol *v, const wb_task *t, int sk, double *dist)
{
    if (sk < 0 || !(v->skills & (1u << sk)) ||
        v->district != t->district)
        return 0;
    int64_t local = t->start + 480 * 60;
    int wd = (int)(((local / 86400) + 4) % 7); /* 1970-01-01: Thursday */
    if ((wd - v->first + 7) % 7 >= v->days) return 0;
    *dist = wb_geo_dist(v->lon, v->lat, t->lon, t->lat);
    return *dist <= v->radius;
}

/* One synchronous FCALL; returns the reply (caller frees) or NULL. */
static redisReply *wb_fcall_sync(redisContext *rc, const char *fn,
                              const char *city, const char *user,
                              const char *role, const char *region,
                              const msgpack_sbuffer *params,
                              const msgpack_sbuffer *settings)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    match_pack_caller(&pk, user, role, region);
    size_t caller_len = sb.size;
    msgpack_sbuffer_write(&sb, params->data, params->size);
    wb_append_fcall(rc, fn, city, (int64_t)time(NULL), &sb, caller_len,
                    settings);
    msgpack_sbuffer_destroy(&sb);
    redisReply *r = NULL;
    if (redisGetReply(rc, (void **)&r) != REDIS_OK) return NULL;
    return r;
}

typedef struct q_cand {
    int vol;
    int64_t dist; /* metres */
} q_cand;

static int wb_q_cand_cmp(const void *a, const void *b)
{
    const q_cand *x = a, *y = b;
    return (x->dist > y->dist) - (x->dist < y->dist);
}

static int wb_cmd_quality(const wb_opts *o)
{
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    long nv = o->volunteers, nt = o->tasks;
    wb_vol *vols = malloc((size_t)nv * sizeof(*vols));
    wb_task *tasks = calloc((size_t)nt, sizeof(*tasks));
    int *ours = malloc((size_t)nt * sizeof(int));
    q_cand *cand = malloc((size_t)nv * sizeof(*cand));
    int rcode = 1;
    if (!vols || !tasks || !ours || !cand) goto out;
    /* the city exactly as `seed --seed` drew it */
    uint64_t vrng = o->seed * 0x9E3779B97F4A7C15ull + 1;
    for (long i = 0; i < nv; i++)
        wb_volunteer_draw(&vrng, &vols[i]);

    char key[140];
    snprintf(key, sizeof(key), "{%s}", o->city);
    msgpack_sbuffer settings, params;
    msgpack_sbuffer_init(&settings);
    msgpack_sbuffer_init(&params);
    wb_pack_settings(&settings, 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    uint64_t trng = o->seed * 0xD1B54A32D192ED03ull + 99;
    int64_t wall = (int64_t)time(NULL);
    long unmatched = 0, errors = 0;
    char first_error[160] = "";
    int tty = isatty(2);
    uint64_t t0 = wb_now_us();
    /* 1. post one by one; the first offer is accepted at once */
    for (long i = 0; i < nt; i++) {
        ours[i] = -1;
        wb_task_draw(&trng, wall, o->city, &tasks[i]);
        msgpack_sbuffer_clear(&params);
        wb_task_pack(&pk, &tasks[i], (uint64_t)i + 1);
        redisReply *r = wb_fcall_sync(rc, "wish_task_post", o->city, "coord-bench",
                                   "coordinator", o->city, &params,
                                   &settings);
        char tid[32] = "";
        if (r && r->type == REDIS_REPLY_STRING) {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            if (msgpack_unpack_next(&u, r->str, r->len, NULL) ==
                    MSGPACK_UNPACK_SUCCESS &&
                u.data.type == MSGPACK_OBJECT_MAP)
                for (uint32_t k = 0; k < u.data.via.map.size; k++) {
                    msgpack_object_kv *kv = &u.data.via.map.ptr[k];
                    if (kv->key.type == MSGPACK_OBJECT_STR &&
                        kv->key.via.str.size == 7 &&
                        memcmp(kv->key.via.str.ptr, "task_id", 7) == 0 &&
                        kv->val.type == MSGPACK_OBJECT_STR)
                        snprintf(tid, sizeof(tid), "%.*s",
                                 (int)kv->val.via.str.size,
                                 kv->val.via.str.ptr);
                }
            msgpack_unpacked_destroy(&u);
        } else if (errors++ == 0) {
            snprintf(first_error, sizeof(first_error), "post: %s",
                     r && r->str ? r->str : rc->errstr);
        }
        if (r) freeReplyObject(r);
        if (tid[0] == '\0') continue;
        /* whom the post offered the task: no function's result names
         * the volunteer (the offer goes to its inbox), so the task's
         * offers hash is read (docs/matching.md, "Key schema") */
        r = redisCommand(rc, "HGETALL %s:task:%s:offers", key, tid);
        char vol[64] = "", oid[32] = "";
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
            snprintf(vol, sizeof(vol), "%s", r->element[0]->str);
            snprintf(oid, sizeof(oid), "%s", r->element[1]->str);
        }
        if (r) freeReplyObject(r);
        long vn = vol[0] == 'v' ? atol(vol + 1) : -1;
        if (vn < 0 || vn >= nv) {
            unmatched++;
            ours[i] = -2; /* posted, offered to nobody */
            continue;
        }
        msgpack_sbuffer_clear(&params);
        msgpack_pack_map(&pk, 1);
        wb_kv_str(&pk, "offer_id", oid);
        char scope[160];
        snprintf(scope, sizeof(scope), "%s/%s", o->city,
                 DISTRICTS[vols[vn].district].name);
        r = wb_fcall_sync(rc, "wish_offer_accept", o->city, vol, "volunteer", scope,
                       &params, &settings);
        if (r && r->type == REDIS_REPLY_STRING) {
            ours[i] = (int)vn;
        } else if (errors++ == 0) {
            snprintf(first_error, sizeof(first_error), "accept: %s",
                     r && r->str ? r->str : rc->errstr);
        }
        if (r) freeReplyObject(r);
        if (tty && (i + 1) % 100 == 0)
            fprintf(stderr, "\r  quality: %ld/%ld posted   ", i + 1, nt);
    }
    if (tty) fputc('\n', stderr);
    double post_s = (double)(wb_now_us() - t0) / 1e6;
    msgpack_sbuffer_destroy(&settings);
    msgpack_sbuffer_destroy(&params);

    /* 2. who fits each task we placed: the K nearest, and ours */
    long nrows = 0;
    size_t ecap = (size_t)nt * (size_t)(o->candidates + 1);
    int *erow = malloc(ecap * sizeof(int)), *ecol = malloc(ecap * sizeof(int));
    int64_t *ecost = malloc(ecap * sizeof(int64_t));
    int *colof = malloc((size_t)nv * sizeof(int)); /* volunteer -> column */
    int *volof = malloc((size_t)nv * sizeof(int)); /* column -> volunteer */
    int *rowtask = malloc((size_t)nt * sizeof(int));
    int *opt = malloc((size_t)nt * sizeof(int));
    int *capv = NULL;
    double *work = NULL;
    if (!erow || !ecol || !ecost || !colof || !volof || !rowtask || !opt)
        goto out2;
    for (long v = 0; v < nv; v++) colof[v] = -1;
    int ncols = 0, nedges = 0;
    long misfit = 0;
    double ours_m = 0;
    long unmatched_fit = 0; /* offered to nobody though someone fits */
    for (long i = 0; i < nt; i++) {
        int sk = wb_skill_index(tasks[i].skill);
        if (ours[i] == -2) {
            double d;
            for (long v = 0; v < nv; v++)
                if (wb_vol_fits(&vols[v], &tasks[i], sk, &d)) {
                    unmatched_fit++;
                    break;
                }
        }
        if (ours[i] < 0) continue;
        long nc = 0;
        double d;
        for (long v = 0; v < nv; v++)
            if (wb_vol_fits(&vols[v], &tasks[i], sk, &d))
                cand[nc++] = (q_cand){(int)v, (int64_t)llround(d)};
        qsort(cand, (size_t)nc, sizeof(*cand), wb_q_cand_cmp);
        if (nc > o->candidates) nc = o->candidates;
        int have_ours = 0;
        for (long k = 0; k < nc; k++) have_ours |= cand[k].vol == ours[i];
        double od = wb_geo_dist(vols[ours[i]].lon, vols[ours[i]].lat,
                                tasks[i].lon, tasks[i].lat);
        ours_m += od;
        if (!have_ours) {
            if (!wb_vol_fits(&vols[ours[i]], &tasks[i], sk, &d)) misfit++;
            cand[nc++] = (q_cand){ours[i], (int64_t)llround(od)};
        }
        for (long k = 0; k < nc; k++) {
            int v = cand[k].vol;
            if (colof[v] < 0) {
                colof[v] = ncols;
                volof[ncols++] = v;
            }
            erow[nedges] = (int)nrows;
            ecol[nedges] = colof[v];
            ecost[nedges++] = cand[k].dist;
        }
        rowtask[nrows++] = (int)i;
    }
    capv = malloc((size_t)(ncols + 1) * sizeof(int));
    work = calloc((size_t)(ncols + 1), sizeof(double));
    if (!capv || !work) goto out2;
    for (int c = 0; c < ncols; c++) capv[c] = VOL_MAX_ACTIVE;
    uint64_t t1 = wb_now_us();
    int64_t opt_m = wb_mincost_assign((int)nrows, ncols, capv, nedges, erow,
                                      ecol, ecost, opt);
    double opt_s = (double)(wb_now_us() - t1) / 1e6;
    /* 3. spread of the work over the volunteers who could take any */
    for (long r = 0; r < nrows; r++) work[colof[ours[rowtask[r]]]] += 1;
    double gini_ours = wb_gini(work, (size_t)ncols);
    double used = 0, most = 0;
    for (int c = 0; c < ncols; c++) {
        used += work[c] > 0;
        if (work[c] > most) most = work[c];
    }
    memset(work, 0, (size_t)ncols * sizeof(double));
    if (opt_m >= 0)
        for (long r = 0; r < nrows; r++)
            if (opt[r] >= 0) work[opt[r]] += 1;
    double gini_opt = opt_m >= 0 ? wb_gini(work, (size_t)ncols) : NAN;
    out_field f[] = {
        {"volunteers", (double)nv, NULL},
        {"tasks", (double)nt, NULL},
        {"assigned", (double)nrows, NULL},
        {"unmatched", (double)unmatched, NULL},
        {"unmatched_but_fitting", (double)unmatched_fit, NULL},
        {"errors", (double)errors, NULL},
        {"misfit", (double)misfit, NULL},
        {"post_seconds", post_s, NULL},
        {"ours_km", ours_m / 1000, NULL},
        {"optimal_km", opt_m >= 0 ? (double)opt_m / 1000 : NAN, NULL},
        {"ratio", opt_m > 0 ? ours_m / (double)opt_m : NAN, NULL},
        {"ours_mean_m", nrows ? ours_m / (double)nrows : NAN, NULL},
        {"optimal_mean_m", opt_m >= 0 && nrows ? (double)opt_m / (double)nrows
                                               : NAN, NULL},
        {"pool", (double)ncols, NULL},
        {"volunteers_used", used, NULL},
        {"most_tasks_one_volunteer", most, NULL},
        {"gini_ours", gini_ours, NULL},
        {"gini_optimal", gini_opt, NULL},
        {"optimum_seconds", opt_s, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (errors) fprintf(stderr, "wishbench: first error: %s\n", first_error);
    rcode = errors ? 1 : 0;
out2:
    free(erow);
    free(ecol);
    free(ecost);
    free(colof);
    free(volof);
    free(rowtask);
    free(opt);
    free(capv);
    free(work);
out:
    free(vols);
    free(tasks);
    free(ours);
    free(cand);
    redisFree(rc);
    return rcode;
}

/* ========================================================================
 * conns: wishd memory per idle session
 * ===================================================================== */

/* VmRSS of pid in bytes, or NAN. */
static double wb_proc_rss(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    double v = NAN;
    if (f == NULL) return v;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) v = atof(line + 6) * 1024;
    fclose(f);
    return v;
}

#define CONN_BATCH 500

static int wb_cmd_conns(const wb_opts *o)
{
    if (o->secret_file == NULL || o->wishd_pid <= 0) {
        fprintf(stderr, "wishbench: conns needs --secret-file and "
                        "--wishd-pid\n");
        return 2;
    }
    unsigned char secret[TOKEN_SECRET_MAX];
    int slen = wb_read_secret(o, secret, sizeof(secret));
    if (slen < 0) return 2;
    int n = o->connections;
    int *fds = malloc((size_t)n * sizeof(int));
    struct pollfd *pfd = malloc(CONN_BATCH * sizeof(*pfd));
    proto_reader **rd = calloc(CONN_BATCH, sizeof(*rd));
    if (!fds || !pfd || !rd) {
        free(fds);
        free(pfd);
        free(rd);
        return 1;
    }
    double rss0 = wb_proc_rss(o->wishd_pid);
    uint64_t t0 = wb_now_us();
    int open_n = 0, ok = 0, refused = 0;
    proto_limits lim;
    proto_limits_default(&lim);
    lim.max_frame = 1 << 20;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int tty = isatty(2);
    while (open_n < n) {
        int b0 = open_n, nb = 0;
        /* a batch: connect, hello each as its own volunteer */
        for (; nb < CONN_BATCH && open_n < n; nb++, open_n++) {
            int fd = wb_dial(o->host, o->port);
            fds[open_n] = fd;
            rd[nb] = NULL;
            if (fd < 0) continue;
            token_claims cl = {.role = ROLE_VOLUNTEER};
            snprintf(cl.user, sizeof(cl.user), "v%d", open_n);
            snprintf(cl.region, sizeof(cl.region), "%s", o->city);
            cl.issued = (int64_t)time(NULL) - 5;
            cl.expires = cl.issued + 86400;
            char token[TOKEN_MAX];
            token_mint(secret, (size_t)slen, &cl, token, sizeof(token));
            msgpack_sbuffer_clear(&sb);
            proto_pack_request_begin(&pk, 1, "hello");
            msgpack_pack_array(&pk, 1);
            msgpack_pack_map(&pk, 1);
            proto_pack_cstr(&pk, "token");
            proto_pack_cstr(&pk, token);
            if (send(fd, sb.data, sb.size, MSG_NOSIGNAL) !=
                (ssize_t)sb.size) {
                close(fd);
                fds[open_n] = -1;
                continue;
            }
            rd[nb] = proto_reader_new(&lim);
        }
        /* their answers, 10 s at most */
        int waiting = 0;
        for (int i = 0; i < nb; i++) waiting += fds[b0 + i] >= 0;
        uint64_t deadline = wb_now_us() + 10000000;
        while (waiting > 0 && wb_now_us() < deadline) {
            for (int i = 0; i < nb; i++) {
                pfd[i].fd = rd[i] ? fds[b0 + i] : -1;
                pfd[i].events = POLLIN;
                pfd[i].revents = 0;
            }
            if (poll(pfd, (nfds_t)nb, 100) <= 0) continue;
            for (int i = 0; i < nb; i++) {
                if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
                    continue;
                char buf[4096];
                ssize_t k = recv(fds[b0 + i], buf, sizeof(buf), 0);
                int done = 0;
                if (k <= 0) {
                    done = -1;
                } else {
                    proto_reader_feed(rd[i], buf, (size_t)k);
                    proto_msg m;
                    proto_error err;
                    while (!done && proto_reader_next(rd[i], &m, &err) == 1)
                        if (m.type == PROTO_MSG_RESPONSE && m.msgid == 1)
                            done = m.error->type == MSGPACK_OBJECT_NIL ? 1
                                                                       : -1;
                        else if (m.type == PROTO_MSG_NOTIFY &&
                                 m.method_len == 5 &&
                                 memcmp(m.method, "error", 5) == 0)
                            done = -1;
                }
                if (done == 0) continue;
                if (done > 0) ok++;
                else refused++;
                proto_reader_free(rd[i]);
                rd[i] = NULL;
                waiting--;
            }
        }
        for (int i = 0; i < nb; i++)
            if (rd[i]) {
                proto_reader_free(rd[i]);
                rd[i] = NULL;
            }
        if (tty)
            fprintf(stderr, "\r  conns: %d open, %d sessions, %d refused   ",
                    open_n, ok, refused);
    }
    if (tty) fputc('\n', stderr);
    double open_s = (double)(wb_now_us() - t0) / 1e6;
    /* held idle a moment, then measured */
    usleep((useconds_t)(o->seconds > 5 ? 5e6 : o->seconds * 1e6));
    double rss1 = wb_proc_rss(o->wishd_pid);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    msgpack_sbuffer_destroy(&sb);
    usleep(1000000);
    double rss2 = wb_proc_rss(o->wishd_pid);
    out_field f[] = {
        {"connections", (double)n, NULL},
        {"sessions", (double)ok, NULL},
        {"refused", (double)refused, NULL},
        {"open_seconds", open_s, NULL},
        {"wishd_rss_before", rss0, NULL},
        {"wishd_rss_held", rss1, NULL},
        {"wishd_rss_after_close", rss2, NULL},
        {"bytes_per_connection", ok ? (rss1 - rss0) / ok : NAN, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    free(fds);
    free(pfd);
    free(rd);
    return ok == n ? 0 : 1;
}

/* ========================================================================
 * rtt and idle: the WebSocket transport beside TCP
 * ===================================================================== */

/* Mints a token for (role, user) in o->city valid a day into out[size].
 * 0, or -1 after saying why. */
static int wb_mint(const unsigned char *secret, int slen, const wb_opts *o,
                   int role, const char *user, char *out, size_t size)
{
    token_claims cl = {.role = role};
    snprintf(cl.user, sizeof(cl.user), "%s", user);
    snprintf(cl.region, sizeof(cl.region), "%s", o->city);
    cl.issued = (int64_t)time(NULL) - 5;
    cl.expires = cl.issued + 86400;
    if (token_mint(secret, (size_t)slen, &cl, out, size) != 0) {
        fprintf(stderr, "wishbench: cannot mint a token\n");
        return -1;
    }
    return 0;
}

/* Closed-loop round trips over one transport (wb_net_post with opts->ws,
 * opts->ping): the same loop, requests and histogram as `wishd`, so the
 * TCP and WebSocket figures differ by the transport only. */
static int wb_cmd_rtt(const wb_opts *o)
{
    if (o->secret_file == NULL) {
        fprintf(stderr, "wishbench: rtt needs --secret-file\n");
        return 2;
    }
    unsigned char secret[TOKEN_SECRET_MAX];
    int slen = wb_read_secret(o, secret, sizeof(secret));
    char token[TOKEN_MAX];
    if (slen < 0 || wb_mint(secret, slen, o, ROLE_COORDINATOR, "coord-rtt",
                            token, sizeof(token)) != 0)
        return 2;
    wb_net_opts no = {.host = o->host, .port = o->port, .token = token,
                      .city = o->city, .connections = o->connections,
                      .pipeline = o->pipeline, .seconds = o->seconds,
                      .seed = o->seed * 0x2545F4914F6CDD1Dull + 7,
                      .max_requests = (uint64_t)o->max_requests,
                      .ws = o->ws, .ping = o->ping};
    wb_net_result *res = calloc(1, sizeof(*res));
    if (res == NULL || wb_net_post(&no, res) != 0) {
        free(res);
        return 69;
    }
    out_field f[] = {
        {"transport", 0, o->ws ? "ws" : "tcp"},
        {"method", 0, o->ping ? "ping" : "post"},
        {"connections", (double)o->connections, NULL},
        {"pipeline", (double)o->pipeline, NULL},
        {"ok", (double)res->ok, NULL},
        {"errors", (double)res->errors, NULL},
        {"seconds", res->elapsed_s, NULL},
        {"per_s", res->elapsed_s > 0 ? (double)res->ok / res->elapsed_s : NAN,
         NULL},
        {"p50_us", wb_hist_quantile(&res->lat, 0.50), NULL},
        {"p99_us", wb_hist_quantile(&res->lat, 0.99), NULL},
        {"p999_us", wb_hist_quantile(&res->lat, 0.999), NULL},
        {"max_us", (double)res->lat.max_us, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (res->errors)
        fprintf(stderr, "wishbench: first error: %llu %s\n",
                (unsigned long long)res->first_error_code, res->first_error);
    int rc = res->ok > 0 && res->errors == 0 ? 0 : 1;
    free(res);
    return rc;
}

/* N sessions over one transport, opened and greeted one after the
 * other, then held idle; wishd's VmRSS before, holding them, and after
 * they closed. Each is a volunteer v<i> of o->city (idle-timeout is
 * minutes: a few seconds idle cost nothing but memory). */
static int wb_cmd_idle(const wb_opts *o)
{
    if (o->secret_file == NULL || o->wishd_pid <= 0) {
        fprintf(stderr, "wishbench: idle needs --secret-file and "
                        "--wishd-pid\n");
        return 2;
    }
    unsigned char secret[TOKEN_SECRET_MAX];
    int slen = wb_read_secret(o, secret, sizeof(secret));
    if (slen < 0) return 2;
    int n = o->connections, ok = 0, failed = 0;
    int *fds = malloc((size_t)n * sizeof(int));
    if (fds == NULL) return 1;
    int tty = isatty(2);
    double rss0 = wb_proc_rss(o->wishd_pid);
    uint64_t t0 = wb_now_us();
    for (int i = 0; i < n; i++) {
        char user[32], token[TOKEN_MAX];
        snprintf(user, sizeof(user), "v%d", i);
        wb_conn *c = o->ws ? wb_conn_new_ws(o->host, o->port)
                           : wb_conn_new(o->host, o->port);
        if (c == NULL ||
            wb_mint(secret, slen, o, ROLE_VOLUNTEER, user, token,
                    sizeof(token)) != 0 ||
            wb_conn_hello(c, token) != 0) {
            wb_conn_free(c);
            failed++;
            if (failed > 10 && failed > n / 100) break; /* wishd is gone */
            continue;
        }
        /* Held by its socket alone: wishbench's own buffers go. */
        fds[ok++] = wb_conn_detach(c);
        if (tty && ok % 500 == 0)
            fprintf(stderr, "\r  idle %s: %d sessions   ",
                    o->ws ? "ws" : "tcp", ok);
    }
    if (tty) fputc('\n', stderr);
    double open_s = (double)(wb_now_us() - t0) / 1e6;
    usleep((useconds_t)(o->seconds > 5 ? 5e6 : o->seconds * 1e6));
    double rss1 = wb_proc_rss(o->wishd_pid);
    for (int i = 0; i < ok; i++) close(fds[i]);
    free(fds);
    usleep(1000000);
    double rss2 = wb_proc_rss(o->wishd_pid);
    out_field f[] = {
        {"transport", 0, o->ws ? "ws" : "tcp"},
        {"connections", (double)n, NULL},
        {"sessions", (double)ok, NULL},
        {"failed", (double)failed, NULL},
        {"open_seconds", open_s, NULL},
        {"wishd_rss_before", rss0, NULL},
        {"wishd_rss_held", rss1, NULL},
        {"wishd_rss_after_close", rss2, NULL},
        {"bytes_per_connection", ok ? (rss1 - rss0) / ok : NAN, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    return ok == n ? 0 : 1;
}

/* ========================================================================
 * crowd: ping latency under a crowd sending random bytes
 * ===================================================================== */

static int wb_cmd_crowd(const wb_opts *o)
{
    wb_crowd_opts co = {.host = o->host, .port = o->port,
                        .connections = o->connections,
                        .think_ms = o->think_ms, .seconds = o->seconds,
                        .pings = o->pings, .seed = o->seed};
    static wb_crowd_result r; /* two histograms: not on the stack */
    if (wb_crowd_run(&co, &r) != 0) return 1;
    double q99 = r.quiet.n ? wb_hist_quantile(&r.quiet, 0.99) : NAN;
    double l99 = r.loaded.n ? wb_hist_quantile(&r.loaded, 0.99) : NAN;
    out_field f[] = {
        {"connections", (double)o->connections, NULL},
        {"think_ms", (double)o->think_ms, NULL},
        {"rounds", (double)r.rounds, NULL},
        {"seconds", r.seconds, NULL},
        {"pings", (double)r.pings, NULL},
        {"ping_errors", (double)r.ping_errors, NULL},
        {"quiet_p50_us",
         r.quiet.n ? wb_hist_quantile(&r.quiet, 0.5) : NAN, NULL},
        {"quiet_p99_us", q99, NULL},
        {"loaded_p50_us",
         r.loaded.n ? wb_hist_quantile(&r.loaded, 0.5) : NAN, NULL},
        {"loaded_p99_us", l99, NULL},
        {"p99_ratio", q99 > 0 ? l99 / q99 : NAN, NULL},
        {"crowd_connects", (double)r.crowd.connects, NULL},
        {"crowd_failed", (double)r.crowd.failed, NULL},
        {"crowd_chunks", (double)r.crowd.chunks, NULL},
        {"crowd_cut", (double)r.crowd.cut, NULL},
        {"crowd_peak_open", (double)r.crowd.peak_open, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    return r.ping_errors == 0 ? 0 : 1;
}

/* ========================================================================
 * logins: accounts, then log-ins at full speed (wishbench_logins.c)
 * ===================================================================== */

static int wb_cmd_logins(const wb_opts *o)
{
    if (o->secret_file == NULL) {
        fprintf(stderr, "wishbench: logins needs --secret-file\n");
        return 2;
    }
    unsigned char secret[TOKEN_SECRET_MAX];
    int slen = wb_read_secret(o, secret, sizeof(secret));
    if (slen < 0) return 2;
    wb_logins_opts lo = {.host = o->host, .port = o->port, .city = o->city,
                         .secret = secret, .secret_len = (size_t)slen,
                         .accounts = o->accounts,
                         .connections = o->connections,
                         .pipeline = o->pipeline, .seconds = o->seconds,
                         .seed = o->seed,
                         .kdf_memory_kib = (uint32_t)o->kdf_memory,
                         .kdf_time = (uint32_t)o->kdf_time,
                         .progress = isatty(2)};
    static wb_logins_result r; /* a histogram: not on the stack */
    if (wb_logins_run(&lo, &r) != 0) return 69;
    double per_s = r.elapsed_s > 0 ? (double)r.ok / r.elapsed_s : NAN;
    /* What the hash buys: one guess against a stolen hash costs a core
     * kdf_hash_ms (and kdf-memory KiB), against a salted SHA-256 one
     * digest. */
    double guesses = r.kdf_hash_ms > 0 ? 1000.0 / r.kdf_hash_ms : NAN;
    out_field f[] = {
        {"kdf_memory_kib", (double)o->kdf_memory, NULL},
        {"kdf_time", (double)o->kdf_time, NULL},
        {"accounts", (double)o->accounts, NULL},
        {"created", (double)r.created, NULL},
        {"signup_seconds", r.signup_s, NULL},
        {"signup_unavailable", (double)r.signup_unavailable, NULL},
        {"signup_errors", (double)r.signup_errors, NULL},
        {"connections", (double)o->connections, NULL},
        {"pipeline", (double)o->pipeline, NULL},
        {"sent", (double)r.sent, NULL},
        {"ok", (double)r.ok, NULL},
        {"unavailable", (double)r.unavailable, NULL},
        {"errors", (double)r.errors, NULL},
        {"lost", (double)r.lost, NULL},
        {"reconnects", (double)r.reconnects, NULL},
        {"seconds", r.elapsed_s, NULL},
        {"logins_per_s", per_s, NULL},
        {"p50_ms", r.ok ? wb_hist_quantile(&r.lat, 0.50) / 1000 : NAN, NULL},
        {"p99_ms", r.ok ? wb_hist_quantile(&r.lat, 0.99) / 1000 : NAN, NULL},
        {"max_ms", (double)r.lat.max_us / 1000, NULL},
        {"kdf_hash_ms", r.kdf_hash_ms > 0 ? r.kdf_hash_ms : NAN, NULL},
        {"kdf_hashes_timed", (double)r.kdf_hashes, NULL},
        {"guesses_per_s_core", guesses, NULL},
        {"sha256_per_s", r.sha256_per_s > 0 ? r.sha256_per_s : NAN, NULL},
        {"sha256_over_kdf",
         r.sha256_per_s > 0 && guesses > 0 ? r.sha256_per_s / guesses : NAN,
         NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (r.first_error[0])
        fprintf(stderr, "wishbench: first error: %s\n", r.first_error);
    return r.created == o->accounts && r.ok > 0 && r.errors == 0 &&
                   r.signup_errors == 0 && r.lost == 0
               ? 0 : 1;
}

/* ========================================================================
 * cluster: direct matches on a Redis Cluster, by slot
 * ===================================================================== */

static int wb_cluster_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reports one cluster's run under the label "<label>-<masters>m"; with
 * base (the first cluster's result) also the ratio of this one's
 * matches/s to base's, overall and turn by turn. */
static void wb_cluster_report(const wb_opts *o, const wb_cluster_result *r,
                              const wb_cluster_result *base)
{
    char label[160];
    snprintf(label, sizeof(label), "%s%s%dm", o->label, *o->label ? "-" : "",
             r->masters);
    wb_opts lo = *o;
    lo.label = label;
    double posts = (double)(r->ok + r->errors);
    double rate = r->elapsed_s > 0 ? posts / r->elapsed_s : NAN;
    double ratio = NAN, bmin = NAN, bmed = NAN, bmax = NAN;
    if (base) {
        double bposts = (double)(base->ok + base->errors);
        if (base->elapsed_s > 0 && bposts > 0)
            ratio = rate / (bposts / base->elapsed_s);
        double br[WB_CLUSTER_BLOCKS_MAX];
        int n = 0;
        for (int i = 0; i < r->nblocks && i < base->nblocks; i++)
            if (base->block_rate[i] > 0)
                br[n++] = r->block_rate[i] / base->block_rate[i];
        if (n > 0) {
            qsort(br, (size_t)n, sizeof(br[0]), wb_cluster_cmp);
            bmin = br[0];
            bmed = n % 2 ? br[n / 2] : (br[n / 2 - 1] + br[n / 2]) / 2;
            bmax = br[n - 1];
        }
    }
    out_field f[] = {
        {"masters", (double)r->masters, NULL},
        {"cities", (double)r->cities, NULL},
        {"cities_per_master", 0, r->spread},
        {"volunteers_per_city", (double)o->volunteers, NULL},
        {"seed_per_s", r->seed_s > 0 ? (double)r->seeded / r->seed_s : NAN,
         NULL},
        {"bytes_per_volunteer",
         r->seeded ? r->seed_memory / (double)r->seeded : NAN, NULL},
        {"pipeline", (double)o->pipeline, NULL},
        {"turns", (double)r->nblocks, NULL},
        {"ok", (double)r->ok, NULL},
        {"errors", (double)r->errors, NULL},
        {"misrouted", (double)r->misrouted, NULL},
        {"seconds", r->elapsed_s, NULL},
        {"matches_per_s", rate, NULL},
        {"fcall_usec_per_call",
         r->fcalls > 0 ? r->fcall_usec / r->fcalls : NAN, NULL},
        {"redis_cpu_us_per_match",
         posts > 0 ? r->redis_cpu_s * 1e6 / posts : NAN, NULL},
        {"redis_cores",
         r->elapsed_s > 0 ? r->redis_cpu_s / r->elapsed_s : NAN, NULL},
        {"busiest_master_busy",
         r->elapsed_s > 0 ? r->redis_cpu_max_s / r->elapsed_s : NAN, NULL},
        {"wishbench_cpu_us_per_match",
         posts > 0 ? r->gen_cpu_s * 1e6 / posts : NAN, NULL},
        {"wishbench_cores",
         r->elapsed_s > 0 ? r->gen_cpu_s / r->elapsed_s : NAN, NULL},
        {"ratio", ratio, NULL},
        {"turn_ratio_min", bmin, NULL},
        {"turn_ratio_median", bmed, NULL},
        {"turn_ratio_max", bmax, NULL},
    };
    wb_report(&lo, f, sizeof(f) / sizeof(f[0]) - (base ? 0 : 4));
    if (r->errors)
        fprintf(stderr, "wishbench: first error: %s\n", r->first_error);
}

static int wb_cmd_cluster(const wb_opts *o)
{
    if (o->cities == NULL) {
        fprintf(stderr, "wishbench: cluster needs --cities\n");
        return 2;
    }
    wb_cluster_opts co = {.host = o->redis_host, .port = o->redis_port,
                          .host_b = o->versus_host, .port_b = o->versus_port,
                          .block = o->block,
                          .cities = o->cities, .volunteers = o->volunteers,
                          .posts = o->max_requests ? o->max_requests : 1000,
                          .pipeline = o->pipeline, .seed = o->seed,
                          .progress = isatty(2)};
    wb_cluster_result r[2];
    int rc = wb_cluster_run(&co, r);
    if (rc != 0) return rc == 2 ? 2 : 69;
    wb_cluster_report(o, &r[0], NULL);
    if (co.host_b) wb_cluster_report(o, &r[1], &r[0]);
    int bad = r[0].errors || r[0].misrouted;
    if (co.host_b) bad |= r[1].errors || r[1].misrouted;
    return bad ? 1 : 0;
}

/* ========================================================================
 * check: the city's invariants, judged by wish_check
 * (matcher/lua/95_check.lua) page by page; this side only adds up
 * ===================================================================== */

#define CHECK_PAGE 500 /* tasks per call: a few ms of Redis each */

/* The counts of the check, summed over its pages. */
typedef struct wb_check_sum {
    double tasks, filled, live, volunteers, over_max_active, violations;
    double overfilled, mismatch, double_booked;
    char first[256];
} wb_check_sum;

/* The number at key k of the result map m, 0 when absent. */
static double wb_check_num(const msgpack_object *m, const char *k)
{
    if (m->type != MSGPACK_OBJECT_MAP) return 0;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR ||
            kv->key.via.str.size != strlen(k) ||
            memcmp(kv->key.via.str.ptr, k, kv->key.via.str.size) != 0)
            continue;
        switch (kv->val.type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return (double)kv->val.via.u64;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return (double)kv->val.via.i64;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return kv->val.via.f64;
        default:
            return 0;
        }
    }
    return 0;
}

/* The object at key k of map m, or NULL. */
static const msgpack_object *wb_check_get(const msgpack_object *m, const char *k)
{
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == strlen(k) &&
            memcmp(kv->key.via.str.ptr, k, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

/* Adds one page's result (a packed map) to sum; returns its `next`, 0
 * when done, -1 when the result does not parse. */
static long wb_check_add(wb_check_sum *sum, const char *data, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, data, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return -1;
    }
    const msgpack_object *r = &u.data, *o;
    sum->tasks += wb_check_num(r, "tasks");
    sum->live += wb_check_num(r, "live");
    sum->volunteers += wb_check_num(r, "volunteers");
    sum->over_max_active += wb_check_num(r, "over_max_active");
    if ((o = wb_check_get(r, "status")) != NULL)
        sum->filled += wb_check_num(o, "filled");
    /* an empty Lua table comes as an array: no violations */
    if ((o = wb_check_get(r, "violations")) != NULL &&
        o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++)
            sum->violations += (double)o->via.map.ptr[i].val.via.u64;
        sum->overfilled += wb_check_num(o, "overfilled");
        sum->mismatch += wb_check_num(o, "filled_mismatch");
        sum->double_booked += wb_check_num(o, "double_booked");
    }
    if ((o = wb_check_get(r, "first")) != NULL && !sum->first[0] &&
        o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0 &&
        o->via.array.ptr[0].type == MSGPACK_OBJECT_STR)
        snprintf(sum->first, sizeof(sum->first), "%.*s",
                 (int)o->via.array.ptr[0].via.str.size,
                 o->via.array.ptr[0].via.str.ptr);
    long next = (long)wb_check_num(r, "next");
    msgpack_unpacked_destroy(&u);
    return next;
}

uint64_t wb_city_tasks(redisContext *rc, const char *city)
{
    char key[140];
    snprintf(key, sizeof(key), "{%s}", city);
    /* params {count = 0}: no task read; caller and settings: empty maps */
    static const char params[] = "\x81\xa5" "count" "\x00", empty[] = "\x80";
    redisReply *r = redisCommand(rc, "FCALL wish_check 1 %s 0 %b %b %b", key,
                                 empty, (size_t)1, params,
                                 sizeof(params) - 1, empty, (size_t)1);
    uint64_t seq = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, r->str, r->len, NULL) ==
            MSGPACK_UNPACK_SUCCESS)
            seq = (uint64_t)wb_check_num(&u.data, "seq");
        msgpack_unpacked_destroy(&u);
    }
    if (r) freeReplyObject(r);
    return seq;
}

static int wb_cmd_check(const wb_opts *o)
{
    redisContext *rc = wb_redis_open(o);
    if (rc == NULL) return 69;
    /* Read-only: the library loaded (by wishd or seed) is used as it is. */
    msgpack_sbuffer settings, params;
    msgpack_sbuffer_init(&settings);
    msgpack_sbuffer_init(&params);
    wb_pack_settings(&settings, 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    uint64_t t0 = wb_now_us(), deadline = t0 + 300000000; /* 5 min */
    wb_check_sum sum = {0};
    int timed_out = 0, rcode = 0;
    for (long from = 1; from != 0;) {
        if (wb_now_us() > deadline) {
            timed_out = 1;
            break;
        }
        msgpack_sbuffer_clear(&params);
        msgpack_pack_map(&pk, 2);
        wb_kv_int(&pk, "from", from);
        wb_kv_int(&pk, "count", CHECK_PAGE);
        redisReply *r = wb_fcall_sync(rc, "wish_check", o->city, "wishbench",
                                   "admin", o->city, &params, &settings);
        if (r == NULL || r->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "wishbench: wish_check: %s\n",
                    r && r->str ? r->str : rc->errstr);
            if (r) freeReplyObject(r);
            rcode = 69;
            goto out;
        }
        from = wb_check_add(&sum, r->str, r->len);
        freeReplyObject(r);
        if (from < 0) {
            fprintf(stderr, "wishbench: wish_check: a result that is not "
                            "a map\n");
            rcode = 1;
            goto out;
        }
    }
    out_field f[] = {
        {"tasks", sum.tasks, NULL},
        {"tasks_filled", sum.filled, NULL},
        {"live_assignments", sum.live, NULL},
        {"overfilled", sum.overfilled, NULL},
        {"filled_mismatch", sum.mismatch, NULL},
        {"volunteers_with_work", sum.volunteers, NULL},
        {"double_booked", sum.double_booked, NULL},
        {"over_max_active", sum.over_max_active, NULL},
        {"violations", sum.violations, NULL},
        {"complete", timed_out ? 0 : 1, NULL},
        {"seconds", (double)(wb_now_us() - t0) / 1e6, NULL},
    };
    wb_report(o, f, sizeof(f) / sizeof(f[0]));
    if (sum.first[0]) fprintf(stderr, "wishbench: first: %s\n", sum.first);
    rcode = sum.violations > 0 || timed_out ? 1 : 0;
out:
    msgpack_sbuffer_destroy(&settings);
    msgpack_sbuffer_destroy(&params);
    redisFree(rc);
    return rcode;
}

/* Many connections (agents, conns, crowd): as many descriptors as allowed. */
static void wb_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    wb_raise_nofile();
    wb_opts o;
    if (wb_parse_opts(argc, argv, &o) != 0) {
        wb_usage(stderr);
        return 2;
    }
    if (strcmp(o.cmd, "seed") == 0) return wb_cmd_seed(&o);
    if (strcmp(o.cmd, "direct") == 0) return wb_cmd_direct(&o);
    if (strcmp(o.cmd, "wishd") == 0) return wb_cmd_wishd(&o);
    if (strcmp(o.cmd, "memory") == 0) return wb_cmd_memory(&o);
    if (strcmp(o.cmd, "quality") == 0) return wb_cmd_quality(&o);
    if (strcmp(o.cmd, "conns") == 0) return wb_cmd_conns(&o);
    if (strcmp(o.cmd, "crowd") == 0) return wb_cmd_crowd(&o);
    if (strcmp(o.cmd, "check") == 0) return wb_cmd_check(&o);
    if (strcmp(o.cmd, "logins") == 0) return wb_cmd_logins(&o);
    if (strcmp(o.cmd, "rtt") == 0) return wb_cmd_rtt(&o);
    if (strcmp(o.cmd, "idle") == 0) return wb_cmd_idle(&o);
    if (strcmp(o.cmd, "cluster") == 0) return wb_cmd_cluster(&o);
    wb_usage(stderr);
    return 2;
}
