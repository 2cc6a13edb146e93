/* wishbench_cluster.c -- direct matches on a Redis Cluster, routed by
 * each city's slot (`wishbench cluster`).
 *
 * The same calls as `wishbench direct` (FCALL wish_task_post on a seeded
 * city, the settings map of a wishd with redis-cluster), for several
 * cities at once, each sent to the master that owns its `{city}` slot:
 * the map comes from CLUSTER SHARDS (CLUSTER SLOTS on older nodes) read
 * with wishd's own parser (server/slotmap.c), the slot from wishd's
 * CRC16 (server/keyslot.c). Nothing follows MOVED: the cluster is not
 * expected to change under the benchmark, and a post sent to the wrong
 * node counts as an error.
 *
 * One process, one thread, one non-blocking connection per master that
 * holds cities, `pipeline` posts in flight on each, driven by poll(): the
 * generator must cost little next to Redis, which runs on the same cores.
 * Each city gets the same volunteers and the same posts (its own random
 * stream from the same seed), so a city costs the same wherever it lives
 * and two runs over the same cities do the same work; the run ends when
 * every city has had its posts, and matches/s is all posts over the time
 * spent posting.
 *
 * Two clusters can be compared (host_b): both are seeded first, then
 * take turns in blocks (`block` posts a city, each cluster's block
 * drained before the other's starts, which of the two goes first
 * alternating), so that both meet the same load from whatever else runs
 * on the machine, block after block; only the other cluster's idle
 * Redis runs meanwhile.
 */
#include "clients/wishbench/wishbench.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "matcher/call.h"
#include "matcher/matcher.h"
#include "server/keyslot.h"
#include "server/slotmap.h"

#define CL_CONNECT_S 10
#define CL_STALL_MS 30000 /* no reply this long: the run is given up */

typedef struct cl_city {
    char name[WB_CLUSTER_CITY_MAX + 1];
    unsigned slot;
    int master; /* index in the run's masters */
    uint64_t rng;
    long posted;
} cl_city;

typedef struct cl_master {
    const slotmap_node *node;
    redisContext *sync; /* blocking: library, seeding, INFO */
    redisContext *nb;   /* non-blocking: the posts */
    int cities[WB_CLUSTER_CITIES_MAX];
    int ncities;
    int next; /* the city whose post goes next, round robin */
    uint64_t sent, done;
    int want_write;
    double cpu0, mem0;
} cl_master;

typedef struct cl_run {
    const wb_cluster_opts *o;
    const char *host; /* the node asked for the map */
    int port;
    wb_cluster_result *res;
    long limit; /* posts a city may have had so far (the block's end) */
    slotmap *map;
    cl_city cities[WB_CLUSTER_CITIES_MAX];
    int ncities;
    cl_master masters[SLOTMAP_NODES_MAX];
    int nmasters;
    msgpack_sbuffer settings, sb;
    msgpack_packer pk;
    int64_t wall;
} cl_run;

/* ========================================================================
 * Setting up: cities, the map, the masters
 * ===================================================================== */

/* Splits o->cities into r->cities. 0, or -1 with the reason on stderr:
 * an empty or over-long name, one holding a byte a city name cannot
 * ('{', '}', '/', a space), a name given twice, too many. */
static int cl_parse_cities(cl_run *r)
{
    const char *p = r->o->cities;
    while (p != NULL) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (r->ncities == WB_CLUSTER_CITIES_MAX) {
            fprintf(stderr, "wishbench: more than %d cities\n",
                    WB_CLUSTER_CITIES_MAX);
            return -1;
        }
        if (len == 0 || len > WB_CLUSTER_CITY_MAX ||
            strcspn(p, "{}/ \t") < len) {
            fprintf(stderr, "wishbench: bad city name '%.*s' in --cities\n",
                    (int)len, p);
            return -1;
        }
        cl_city *c = &r->cities[r->ncities];
        memcpy(c->name, p, len);
        c->name[len] = '\0';
        for (int i = 0; i < r->ncities; i++)
            if (strcmp(r->cities[i].name, c->name) == 0) {
                fprintf(stderr, "wishbench: city %s given twice\n", c->name);
                return -1;
            }
        c->slot = keyslot_of_city(c->name);
        c->rng = r->o->seed * 0x2545F4914F6CDD1Dull + 7;
        r->ncities++;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Reads the slot map from r->host:r->port into r->map. 0, or -1 with the
 * reason on stderr (unreachable, not a cluster, a reply wishd's parser
 * refuses, slots no master serves). */
static int cl_read_map(cl_run *r)
{
    const cl_run *o = r; /* host and port */
    redisContext *rc = redisConnectWithTimeout(
        o->host, o->port, (struct timeval){CL_CONNECT_S, 0});
    if (rc == NULL || rc->err) {
        fprintf(stderr, "wishbench: cannot reach %s:%d: %s\n", o->host, o->port,
                rc ? rc->errstr : "out of memory");
        if (rc) redisFree(rc);
        return -1;
    }
    char err[256] = "";
    int rcode = -1;
    redisReply *rep = redisCommand(rc, "CLUSTER SHARDS");
    if (rep && rep->type == REDIS_REPLY_ERROR &&
        strstr(rep->str, "cluster support disabled") == NULL) {
        freeReplyObject(rep); /* older than Redis 7 */
        rep = redisCommand(rc, "CLUSTER SLOTS");
        if (rep && rep->type != REDIS_REPLY_ERROR)
            rcode = slotmap_from_slots(r->map, rep, o->host, err, sizeof(err));
    } else if (rep && rep->type != REDIS_REPLY_ERROR) {
        rcode = slotmap_from_shards(r->map, rep, o->host, err, sizeof(err));
    }
    if (rep == NULL)
        fprintf(stderr, "wishbench: %s:%d: %s\n", o->host, o->port, rc->errstr);
    else if (rep->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "wishbench: %s:%d is not a Redis Cluster: %s\n",
                o->host, o->port, rep->str);
    else if (rcode != 0)
        fprintf(stderr, "wishbench: the cluster's map: %s\n", err);
    if (rep) freeReplyObject(rep);
    redisFree(rc);
    if (rcode == 0 && slotmap_assigned(r->map) != KEYSLOT_COUNT) {
        fprintf(stderr, "wishbench: %zu of %d slots have a master\n",
                slotmap_assigned(r->map), KEYSLOT_COUNT);
        rcode = -1;
    }
    return rcode;
}

/* Puts each city on the master of its slot; every master of the map is
 * kept (one without cities shows as 0 in the spread). */
static void cl_place_cities(cl_run *r)
{
    r->nmasters = r->map->nnodes;
    for (int m = 0; m < r->nmasters; m++)
        r->masters[m].node = &r->map->nodes[m];
    for (int i = 0; i < r->ncities; i++) {
        cl_city *c = &r->cities[i];
        c->master = (int)r->map->owner[c->slot];
        cl_master *m = &r->masters[c->master];
        m->cities[m->ncities++] = i;
    }
}

/* Opens m's blocking connection and loads the library there. 0, or -1
 * with the reason on stderr. */
static int cl_master_open(cl_master *m)
{
    m->sync = redisConnectWithTimeout(m->node->host, m->node->port,
                                      (struct timeval){CL_CONNECT_S, 0});
    if (m->sync == NULL || m->sync->err) {
        fprintf(stderr, "wishbench: cannot reach master %s:%d: %s\n",
                m->node->host, m->node->port,
                m->sync ? m->sync->errstr : "out of memory");
        return -1;
    }
    redisSetTimeout(m->sync, (struct timeval){30, 0});
    redisReply *rep =
        redisCommand(m->sync, "FUNCTION LOAD REPLACE %s", match_lua_source);
    int bad = rep == NULL || rep->type == REDIS_REPLY_ERROR;
    if (bad)
        fprintf(stderr, "wishbench: FUNCTION LOAD on %s:%d: %s\n",
                m->node->host, m->node->port, rep ? rep->str : m->sync->errstr);
    if (rep) freeReplyObject(rep);
    return bad ? -1 : 0;
}

/* Opens m's non-blocking connection and waits (poll) until it is up. 0,
 * or -1 with the reason on stderr. */
static int cl_master_open_nb(cl_master *m)
{
    m->nb = redisConnectNonBlock(m->node->host, m->node->port);
    if (m->nb == NULL || m->nb->err) {
        fprintf(stderr, "wishbench: cannot reach master %s:%d: %s\n",
                m->node->host, m->node->port,
                m->nb ? m->nb->errstr : "out of memory");
        return -1;
    }
    struct pollfd pfd = {.fd = m->nb->fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (poll(&pfd, 1, CL_CONNECT_S * 1000) != 1 ||
        getsockopt(m->nb->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
        soerr != 0) {
        fprintf(stderr, "wishbench: cannot connect to master %s:%d: %s\n",
                m->node->host, m->node->port,
                soerr ? strerror(soerr) : "timed out");
        return -1;
    }
    return 0;
}

/* FCALL's calls and total microseconds on rc since CONFIG RESETSTAT. */
static void cl_fcall_stats(redisContext *rc, double *calls, double *usec)
{
    *calls = 0;
    *usec = 0;
    redisReply *rep = redisCommand(rc, "INFO commandstats");
    if (rep && rep->type == REDIS_REPLY_STRING) {
        const char *p = strstr(rep->str, "cmdstat_fcall:");
        if (p) sscanf(p, "cmdstat_fcall:calls=%lf,usec=%lf", calls, usec);
    }
    if (rep) freeReplyObject(rep);
}

/* CPU seconds (user + system) this process used so far. */
static double cl_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ========================================================================
 * Seeding
 * ===================================================================== */

/* Seeds o->volunteers in every city on its master; the memory each
 * master grew by goes to res. 0, or -1 (reason on stderr). */
static int cl_seed(cl_run *r)
{
    wb_cluster_result *res = r->res;
    for (int m = 0; m < r->nmasters; m++)
        r->masters[m].mem0 =
            wb_redis_info(r->masters[m].sync, "memory", "used_memory");
    uint64_t t0 = wb_now_us();
    wb_direct_stats st = {0};
    for (int i = 0; i < r->ncities; i++) {
        cl_city *c = &r->cities[i];
        if (wb_seed_city(r->masters[c->master].sync, c->name, r->o->volunteers,
                         r->o->seed, &r->settings, &st) != 0)
            return -1;
    }
    res->seed_s = (double)(wb_now_us() - t0) / 1e6;
    res->seeded = st.ok;
    res->seed_errors = st.errors;
    if (st.errors) {
        fprintf(stderr, "wishbench: seeding: %s\n", st.first_error);
        return -1;
    }
    for (int m = 0; m < r->nmasters; m++)
        res->seed_memory +=
            wb_redis_info(r->masters[m].sync, "memory", "used_memory") -
            r->masters[m].mem0;
    return 0;
}

/* ========================================================================
 * Posting
 * ===================================================================== */

/* The next city of m with posts left, round robin; -1 when none. */
static int cl_next_city(cl_run *r, cl_master *m)
{
    for (int k = 0; k < m->ncities; k++) {
        int i = m->cities[(m->next + k) % m->ncities];
        if (r->cities[i].posted < r->limit) {
            m->next = (m->next + k + 1) % m->ncities;
            return i;
        }
    }
    return -1;
}

/* Appends posts to m's connection until `pipeline` are in flight or its
 * cities have had theirs, then writes what the socket takes. 0, or -1
 * when the connection broke. */
static int cl_fill(cl_run *r, cl_master *m)
{
    while (m->sent - m->done < (uint64_t)r->o->pipeline) {
        int i = cl_next_city(r, m);
        if (i < 0) break;
        cl_city *c = &r->cities[i];
        msgpack_sbuffer_clear(&r->sb);
        match_pack_caller(&r->pk, "coord-bench", "coordinator", c->name);
        size_t caller_len = r->sb.size;
        wb_task t;
        wb_task_draw(&c->rng, r->wall, c->name, &t);
        wb_task_pack(&r->pk, &t, (uint64_t)++c->posted);
        wb_append_fcall(m->nb, "wish_task_post", c->name, r->wall, &r->sb,
                        caller_len, &r->settings);
        m->sent++;
        m->want_write = 1;
    }
    if (m->want_write) {
        int done = 0;
        if (redisBufferWrite(m->nb, &done) != REDIS_OK) return -1;
        m->want_write = !done;
    }
    return 0;
}

/* Reads what m's connection has and takes every whole reply. 0, or -1
 * when the connection broke. */
static int cl_drain(cl_run *r, cl_master *m)
{
    if (redisBufferRead(m->nb) != REDIS_OK) return -1;
    for (;;) {
        redisReply *rep = NULL;
        if (redisGetReplyFromReader(m->nb, (void **)&rep) != REDIS_OK)
            return -1;
        if (rep == NULL) return 0;
        if (rep->type == REDIS_REPLY_ERROR) {
            if (r->res->errors++ == 0)
                snprintf(r->res->first_error, sizeof(r->res->first_error), "%s",
                         rep->str);
        } else {
            r->res->ok++;
        }
        m->done++;
        freeReplyObject(rep);
    }
}

/* Says why m's connection broke; returns -1. */
static int cl_broke(const cl_master *m)
{
    fprintf(stderr, "wishbench: master %s:%d: %s\n", m->node->host,
            m->node->port, m->nb->err ? m->nb->errstr : "poll failed");
    return -1;
}

/* Posts until every city has had r->limit posts and every reply came,
 * all masters at once; adds the time and wishbench's CPU to r->res.
 * Returns the seconds taken, or -1 (reason on stderr) when a connection
 * broke or nothing came back for CL_STALL_MS. */
static double cl_post(cl_run *r)
{
    wb_cluster_result *res = r->res;
    uint64_t total = (uint64_t)r->ncities * (uint64_t)r->limit;
    struct pollfd pfd[SLOTMAP_NODES_MAX];
    int idx[SLOTMAP_NODES_MAX];
    double self0 = cl_self_cpu();
    uint64_t t0 = wb_now_us(), last = t0, last_reply = t0, last_ok = 0;
    r->wall = (int64_t)time(NULL);
    while (res->ok + res->errors < total) {
        int n = 0;
        for (int m = 0; m < r->nmasters; m++) {
            cl_master *ms = &r->masters[m];
            if (ms->ncities == 0) continue;
            if (cl_fill(r, ms) != 0) return cl_broke(ms);
            pfd[n] = (struct pollfd){
                .fd = ms->nb->fd,
                .events = (short)(POLLIN | (ms->want_write ? POLLOUT : 0))};
            idx[n++] = m;
        }
        if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
            perror("wishbench: poll");
            return -1;
        }
        uint64_t before = res->ok + res->errors;
        for (int k = 0; k < n; k++) {
            cl_master *ms = &r->masters[idx[k]];
            if ((pfd[k].revents & POLLOUT) && cl_fill(r, ms) != 0)
                return cl_broke(ms);
            if ((pfd[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
                cl_drain(r, ms) != 0)
                return cl_broke(ms);
        }
        uint64_t t = wb_now_us();
        if (res->ok + res->errors != before)
            last_reply = t;
        else if (t - last_reply > CL_STALL_MS * 1000ull) {
            fprintf(stderr, "wishbench: no reply for %d s\n",
                    CL_STALL_MS / 1000);
            return -1;
        }
        if (t - last > 1000000) {
            if (r->o->progress)
                fprintf(stderr, "\r  cluster %s:%d: %8llu ok %8.0f/s   ",
                        r->host, r->port, (unsigned long long)res->ok,
                        (double)(res->ok - last_ok) * 1e6 / (double)(t - last));
            last = t;
            last_ok = res->ok;
            r->wall = (int64_t)time(NULL);
        }
    }
    double secs = (double)(wb_now_us() - t0) / 1e6;
    res->elapsed_s += secs;
    res->gen_cpu_s += cl_self_cpu() - self0;
    return secs;
}

/* ========================================================================
 * The run
 * ===================================================================== */

/* Cities per master, "2,2", into res->spread. */
static void cl_spread(const cl_run *r, wb_cluster_result *res)
{
    size_t used = 0;
    res->spread[0] = '\0';
    for (int m = 0; m < r->nmasters; m++) {
        int w = snprintf(res->spread + used, sizeof(res->spread) - used, "%s%d",
                         m ? "," : "", r->masters[m].ncities);
        if (w < 0 || (size_t)w >= sizeof(res->spread) - used) break;
        used += (size_t)w;
    }
}

/* Closes r's connections and frees it; NULL is a no-op. */
static void cl_run_free(cl_run *r)
{
    if (r == NULL) return;
    for (int m = 0; m < r->nmasters; m++) {
        if (r->masters[m].sync) redisFree(r->masters[m].sync);
        if (r->masters[m].nb) redisFree(r->masters[m].nb);
    }
    msgpack_sbuffer_destroy(&r->settings);
    msgpack_sbuffer_destroy(&r->sb);
    free(r->map);
    free(r);
}

/* Makes the run of the cluster host:port: cities placed, library loaded,
 * cities seeded. Returns it (cl_run_free() frees it), or NULL: *code is
 * 2 for a bad city list, -1 for the rest (reason on stderr). */
static cl_run *cl_run_new(const wb_cluster_opts *o, const char *host, int port,
                          wb_cluster_result *res, int *code)
{
    *res = (wb_cluster_result){0};
    *code = -1;
    cl_run *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->map = calloc(1, sizeof(*r->map))) == NULL) {
        fprintf(stderr, "wishbench: out of memory\n");
        free(r);
        return NULL;
    }
    r->o = o;
    r->host = host;
    r->port = port;
    r->res = res;
    msgpack_sbuffer_init(&r->settings);
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
    wb_pack_settings(&r->settings, 1);
    if (cl_parse_cities(r) != 0) {
        *code = 2;
        goto err;
    }
    if (cl_read_map(r) != 0) goto err;
    cl_place_cities(r);
    res->masters = r->nmasters;
    res->cities = r->ncities;
    cl_spread(r, res);
    for (int m = 0; m < r->nmasters; m++)
        if (cl_master_open(&r->masters[m]) != 0) goto err;
    if (cl_seed(r) != 0) goto err;
    return r;
err:
    cl_run_free(r);
    return NULL;
}

/* Resets the masters' statistics, opens the posting connections and
 * notes the CPU each master used so far. 0, or -1 (reason on stderr). */
static int cl_run_start(cl_run *r)
{
    for (int m = 0; m < r->nmasters; m++) {
        cl_master *ms = &r->masters[m];
        redisReply *rep = redisCommand(ms->sync, "CONFIG RESETSTAT");
        if (rep) freeReplyObject(rep);
        if (ms->ncities && cl_master_open_nb(ms) != 0) return -1;
        ms->cpu0 = wb_redis_cpu(ms->sync);
    }
    return 0;
}

/* The masters' CPU and FCALL counts since cl_run_start(), into r->res. */
static void cl_run_finish(cl_run *r)
{
    wb_cluster_result *res = r->res;
    for (int m = 0; m < r->nmasters; m++) {
        cl_master *ms = &r->masters[m];
        double cpu = wb_redis_cpu(ms->sync) - ms->cpu0, calls, usec;
        res->redis_cpu_s += cpu;
        if (cpu > res->redis_cpu_max_s) res->redis_cpu_max_s = cpu;
        cl_fcall_stats(ms->sync, &calls, &usec);
        res->fcalls += calls;
        res->fcall_usec += usec;
        if (calls != (double)ms->done) res->misrouted++;
    }
}

int wb_cluster_run(const wb_cluster_opts *o, wb_cluster_result res[2])
{
    int nruns = o->host_b ? 2 : 1, code = -1;
    cl_run *run[2] = {NULL, NULL};
    run[0] = cl_run_new(o, o->host, o->port, &res[0], &code);
    if (run[0] == NULL) return code;
    if (nruns == 2 &&
        (run[1] = cl_run_new(o, o->host_b, o->port_b, &res[1], &code)) == NULL)
        goto out;
    code = -1;
    for (int k = 0; k < nruns; k++)
        if (cl_run_start(run[k]) != 0) goto out;
    long block = o->block > 0 && o->block < o->posts ? o->block : o->posts;
    for (int b = 0; b * block < o->posts; b++) {
        if (b == WB_CLUSTER_BLOCKS_MAX) {
            fprintf(stderr, "wishbench: more than %d blocks\n",
                    WB_CLUSTER_BLOCKS_MAX);
            goto out;
        }
        long limit = (b + 1) * block < o->posts ? (b + 1) * block : o->posts;
        for (int k = 0; k < nruns; k++) {
            cl_run *r = run[(k + b) % nruns]; /* who goes first alternates */
            r->limit = limit;
            double secs = cl_post(r);
            if (secs < 0) goto out;
            r->res->block_rate[b] =
                secs > 0 ? (double)(limit - b * block) * r->ncities / secs : 0;
            r->res->nblocks = b + 1;
        }
    }
    for (int k = 0; k < nruns; k++)
        cl_run_finish(run[k]);
    if (o->progress) fputc('\n', stderr);
    code = 0;
out:
    for (int k = 0; k < nruns; k++)
        cl_run_free(run[k]);
    return code;
}
