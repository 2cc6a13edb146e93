/* wishbench_agents.c -- volunteer agents that accept their offers; see
 * wishbench.h.
 *
 * The agents run in a child process of wishbench (so the poll() loop of
 * the posting side and this libevent loop never wait on each other) on
 * one event_base with libwishclient's asynchronous client:
 *
 *   - volunteers v0 .. v(preconnect-1) hold a session from the start; an
 *     `offer` event that wishd pushes to one of them is accepted at once
 *     (offer.accept on the same session): the real path, end to end;
 *   - every other volunteer is reached through Redis Pub/Sub
 *     (`mw:ev:<city>`, the channel every wishd listens to): an `offer` to
 *     a volunteer without a session opens one (token minted here, hello)
 *     and sends offer.accept on it, queued until the hello is answered.
 *     At most max_sessions of those are held; the oldest idle one is
 *     closed past that.
 *
 * Each offer is accepted once (a bitmap of offer numbers), including one
 * replayed by a new session's hello. Offers already past expires_at are
 * left alone.
 */
#include "clients/wishbench/wishbench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/hiredis.h>

#include "clients/wishclient/wishclient.h"
#include "proto/proto.h"
#include "proto/token.h"

typedef struct agent {
    wc_async *a;
    int pending; /* calls whose reply has not come */
    int lazy;    /* opened for a Pub/Sub offer (may be evicted) */
} agent;

typedef struct agents {
    const wb_agents_opts *o;
    struct event_base *base;
    redisAsyncContext *sub;
    agent *ag;   /* by volunteer number */
    long nag;
    long *fifo;  /* lazily opened, oldest first (ring) */
    long fifo_head, fifo_len, fifo_cap;
    long lazy_open;
    uint8_t *seen; /* offers accepted, by number */
    size_t seen_bits;
    long ready;
    int ready_told;
    wb_agents_stats st;
    int out_fd;
    struct event *stop_ev, *tick_ev;
    uint64_t t0;
    uint64_t min_task; /* tasks numbered up to this are not ours */
} agents;

/* ------------------------------------------------------------------------
 * Bookkeeping
 * --------------------------------------------------------------------- */

/* Marks offer "O<n>" taken; 1 when it was new, 0 when already taken or
 * not an offer id we can number. */
static int wb_offer_take(agents *s, const char *id, size_t len)
{
    uint64_t n;
    if (len < 2 || id[0] != 'O' ||
        proto_parse_u64(id + 1, len - 1, &n) != 0 || n >= (uint64_t)1 << 31)
        return 0;
    if (n >= s->seen_bits) {
        size_t bits = s->seen_bits ? s->seen_bits : 1 << 20;
        while (bits <= n) bits *= 2;
        uint8_t *p = realloc(s->seen, bits / 8);
        if (p == NULL) return 0;
        memset(p + s->seen_bits / 8, 0, (bits - s->seen_bits) / 8);
        s->seen = p;
        s->seen_bits = bits;
    }
    if (s->seen[n / 8] & (1u << (n % 8))) return 0;
    s->seen[n / 8] |= (uint8_t)(1u << (n % 8));
    return 1;
}

/* The volunteer number of "v<n>", or -1. */
static long wb_vol_number(const char *u, size_t len)
{
    uint64_t n;
    if (len < 2 || len > 12 || u[0] != 'v' ||
        proto_parse_u64(u + 1, len - 1, &n) != 0)
        return -1;
    return (long)n;
}

static int wb_grow_agents(agents *s, long n)
{
    if (n < s->nag) return 0;
    long cap = s->nag ? s->nag : 1024;
    while (cap <= n) cap *= 2;
    agent *p = realloc(s->ag, (size_t)cap * sizeof(*p));
    if (p == NULL) return -1;
    memset(p + s->nag, 0, (size_t)(cap - s->nag) * sizeof(*p));
    s->ag = p;
    s->nag = cap;
    return 0;
}

/* ------------------------------------------------------------------------
 * Accepting
 * --------------------------------------------------------------------- */

/* An offer.accept or offer.decline in flight: whose, and which offer. */
typedef struct offer_call {
    long n;
    size_t len;
    char id[32];
} offer_call;

/* Packs {offer_id} for offer.accept and offer.decline. */
static int wb_pack_offer_id(msgpack_packer *pk, void *arg)
{
    const offer_call *oc = arg;
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "offer_id");
    msgpack_pack_str(pk, oc->len);
    msgpack_pack_str_body(pk, oc->id, oc->len);
    return 0;
}

static agents *g_agents; /* the one run of this process (reply callbacks) */

static void wb_on_declined(wc_async *a, int status,
                           const msgpack_object *result, const char *errmsg,
                           void *arg)
{
    (void)a;
    (void)status; /* CONFLICT when the offer closed meanwhile: fine */
    (void)result;
    (void)errmsg;
    offer_call *oc = arg;
    agents *s = g_agents;
    if (oc->n < s->nag && s->ag[oc->n].pending > 0) s->ag[oc->n].pending--;
    free(oc);
}

/* A CONFLICT on accept: the task filled first (the offer is withdrawn),
 * or this volunteer took something overlapping meanwhile. A person would
 * decline the latter rather than let it lapse after offer-ttl, so the
 * agent declines: the task goes on to the next candidate at once. */
static void wb_decline_after_conflict(wc_async *a, offer_call *oc)
{
    if (wc_async_call(a, "offer.decline", wb_pack_offer_id, oc, wb_on_declined,
                      oc) == WC_OK)
        g_agents->ag[oc->n].pending++;
    else
        free(oc);
}

static void wb_on_accepted(wc_async *a, int status,
                           const msgpack_object *result, const char *errmsg,
                           void *arg)
{
    (void)result;
    agents *s = g_agents;
    offer_call *oc = arg;
    long n = oc->n;
    if (n >= 0 && n < s->nag && s->ag[n].pending > 0) s->ag[n].pending--;
    if (status == WC_OK) {
        s->st.accepted++;
    } else {
        if (status == 5) s->st.conflicts++; /* CONFLICT: lost a race */
        else s->st.errors++;
        if (s->st.first_error[0] == '\0')
            snprintf(s->st.first_error, sizeof(s->st.first_error), "%d %s",
                     status, errmsg ? errmsg : "");
    }
    if (status == 5 && n < s->nag && s->ag[n].a == a) {
        wb_decline_after_conflict(a, oc);
        return;
    }
    free(oc);
}

static void wb_accept_offer(agents *s, long n, const char *id, size_t len)
{
    if (!wb_offer_take(s, id, len)) return;
    s->st.offers++;
    offer_call *oc = malloc(sizeof(*oc));
    if (oc == NULL || len >= sizeof(oc->id)) {
        free(oc);
        s->st.errors++;
        return;
    }
    *oc = (offer_call){.n = n, .len = len};
    memcpy(oc->id, id, len);
    if (wc_async_call(s->ag[n].a, "offer.accept", wb_pack_offer_id, oc,
                      wb_on_accepted, oc) == WC_OK) {
        s->ag[n].pending++;
        s->st.sent++;
    } else {
        free(oc);
        s->st.errors++;
    }
}

/* The number of the task an offer event is about, or 0. */
static uint64_t wb_offer_task(const msgpack_object *ev)
{
    return wb_task_number(proto_map_get(proto_map_get(ev, "task"),
                                        "task_id"));
}

/* An offer event for volunteer n (from its session or Pub/Sub). Offers
 * of tasks posted before the agents started (earlier phases, whose
 * offers lapse and move on) are left alone: this run's tasks only. */
static void wb_offer_event(agents *s, long n, const msgpack_object *ev)
{
    if (wb_offer_task(ev) <= s->min_task) {
        s->st.stale++;
        return;
    }
    const msgpack_object *oid = proto_map_get(ev, "offer_id");
    const msgpack_object *exp = proto_map_get(ev, "expires_at");
    if (oid == NULL || oid->type != MSGPACK_OBJECT_STR) return;
    if (exp && exp->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        (int64_t)exp->via.u64 < (int64_t)time(NULL)) {
        s->st.stale++;
        return;
    }
    wb_accept_offer(s, n, oid->via.str.ptr, oid->via.str.size);
}

static void wb_on_event(wc_async *a, const char *id, const msgpack_object *ev,
                        void *arg)
{
    (void)a;
    (void)id;
    agents *s = g_agents;
    long n = (long)(intptr_t)arg;
    if (proto_obj_equals(proto_map_get(ev, "type"), "offer"))
        wb_offer_event(s, n, ev);
}

static void wb_on_state(wc_async *a, int state, int status, const char *why,
                        const msgpack_object *hello, void *arg)
{
    (void)a;
    (void)hello;
    agents *s = g_agents;
    long n = (long)(intptr_t)arg;
    if (state == WC_ASYNC_READY) {
        if (n < s->o->preconnect) s->ready++;
    } else if (state == WC_ASYNC_FAILED || state == WC_ASYNC_WAITING) {
        s->st.session_errors++;
        if (s->st.first_error[0] == '\0')
            snprintf(s->st.first_error, sizeof(s->st.first_error),
                     "session v%ld: %s %d %s", n, wc_async_state_name(state),
                     status, why ? why : "");
    }
}

static int wb_open_session(agents *s, long n)
{
    token_claims cl = {.role = ROLE_VOLUNTEER};
    snprintf(cl.user, sizeof(cl.user), "v%ld", n);
    snprintf(cl.region, sizeof(cl.region), "%s", s->o->city);
    cl.issued = (int64_t)time(NULL) - 5;
    cl.expires = cl.issued + 86400;
    char token[TOKEN_MAX];
    if (token_mint(s->o->secret, s->o->secret_len, &cl, token,
                   sizeof(token)) != 0)
        return -1;
    wc_async_opts ao = {0};
    ao.host = s->o->host;
    ao.port = s->o->port;
    /* Sessions open and close all through a run: from one address, the
     * kernel's search for a free ephemeral port among the TIME_WAITs of
     * earlier ones took most of the agents' CPU. Loopback has a /8. */
    char source[INET_ADDRSTRLEN];
    if (strncmp(s->o->host, "127.", 4) == 0) {
        snprintf(source, sizeof(source), "127.0.%ld.%ld", 1 + n / 250 % 250,
                 2 + n % 250);
        ao.source = source;
    }
    ao.token = token;
    ao.connect_timeout_ms = 10000;
    ao.call_timeout_ms = 10000;
    ao.heartbeat_ms = -1;
    ao.on_event = wb_on_event;
    ao.on_state = wb_on_state;
    ao.arg = (void *)(intptr_t)n;
    char err[160];
    s->ag[n].a = wc_async_connect(s->base, &ao, err, sizeof(err));
    if (s->ag[n].a == NULL) {
        fprintf(stderr, "wishbench agents: %s\n", err);
        return -1;
    }
    s->st.sessions++;
    return 0;
}

/* Closes the oldest lazily opened idle sessions past max_sessions. */
static void wb_evict(agents *s)
{
    long tries = s->fifo_len;
    while (s->lazy_open > s->o->max_sessions && tries-- > 0) {
        long n = s->fifo[s->fifo_head];
        s->fifo_head = (s->fifo_head + 1) % s->fifo_cap;
        s->fifo_len--;
        if (s->ag[n].pending > 0 || s->ag[n].a == NULL) {
            /* busy: back to the end */
            s->fifo[(s->fifo_head + s->fifo_len) % s->fifo_cap] = n;
            s->fifo_len++;
            continue;
        }
        wc_async_free(s->ag[n].a);
        s->ag[n].a = NULL;
        s->ag[n].lazy = 0;
        s->lazy_open--;
    }
}

/* ------------------------------------------------------------------------
 * Pub/Sub: offers to volunteers without a session
 * --------------------------------------------------------------------- */

static void wb_on_message(redisAsyncContext *c, void *reply, void *priv)
{
    (void)c;
    (void)priv;
    agents *s = g_agents;
    redisReply *r = reply;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    const char *p = r->element[2]->str;
    size_t len = r->element[2]->len;
    const char *nl = memchr(p, '\n', len);
    if (nl == NULL) return;
    long n = wb_vol_number(p, (size_t)(nl - p));
    if (n < 0) return;
    size_t off = (size_t)(nl - p) + 1 + 16; /* the 16-digit event id */
    if (off >= len) return;
    if (n < s->nag && s->ag[n].a != NULL) return; /* its session has it */
    /* cheap test before decoding: offers carry "offer_id" */
    if (memmem(p + off, len - off, "offer_id", 8) == NULL) return;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t pos = 0;
    if (msgpack_unpack_next(&u, p + off, len - off, &pos) ==
            MSGPACK_UNPACK_SUCCESS &&
        proto_obj_equals(proto_map_get(&u.data, "type"), "offer") &&
        wb_offer_task(&u.data) > s->min_task) {
        if (wb_grow_agents(s, n) == 0 && wb_open_session(s, n) == 0) {
            s->ag[n].lazy = 1;
            s->lazy_open++;
            if (s->fifo_len == s->fifo_cap) {
                long cap = s->fifo_cap ? s->fifo_cap * 2 : 4096;
                long *f = malloc((size_t)cap * sizeof(*f));
                if (f != NULL) {
                    for (long i = 0; i < s->fifo_len; i++)
                        f[i] = s->fifo[(s->fifo_head + i) % s->fifo_cap];
                    free(s->fifo);
                    s->fifo = f;
                    s->fifo_head = 0;
                    s->fifo_cap = cap;
                }
            }
            if (s->fifo_len < s->fifo_cap) {
                s->fifo[(s->fifo_head + s->fifo_len) % s->fifo_cap] = n;
                s->fifo_len++;
            }
            wb_offer_event(s, n, &u.data);
            wb_evict(s);
        }
    }
    msgpack_unpacked_destroy(&u);
}

/* ------------------------------------------------------------------------
 * The loop
 * --------------------------------------------------------------------- */

static void wb_on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    agents *s = arg;
    event_base_loopbreak(s->base);
}

static void wb_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    agents *s = arg;
    uint64_t now = wb_now_us();
    if (!s->ready_told &&
        (s->ready >= s->o->preconnect || now - s->t0 > 60000000)) {
        s->ready_told = 1;
        char line[64];
        int k = snprintf(line, sizeof(line), "R %ld\n", s->ready);
        if (write(s->out_fd, line, (size_t)k) < 0) { /* parent gone */
        }
    }
    if (now - s->t0 > (uint64_t)(s->o->max_seconds * 1e6))
        event_base_loopbreak(s->base);
}

int wb_agents_run(const wb_agents_opts *o, int stop_fd, int out_fd)
{
    agents s0 = {.o = o, .out_fd = out_fd, .t0 = wb_now_us()};
    agents *s = &s0;
    g_agents = s;
    s->base = event_base_new();
    if (s->base == NULL) return -1;
    if (o->preconnect > 0 && wb_grow_agents(s, o->preconnect) != 0) return -1;
    /* the last task posted before this run */
    redisContext *rc = o->redis_socket
                           ? redisConnectUnix(o->redis_socket)
                           : redisConnect(o->redis_host, o->redis_port);
    if (rc == NULL || rc->err) {
        fprintf(stderr, "wishbench agents: cannot reach redis\n");
        if (rc) redisFree(rc);
        return -1;
    }
    s->min_task = wb_city_tasks(rc, o->city);
    redisFree(rc);
    s->sub = o->redis_socket ? redisAsyncConnectUnix(o->redis_socket)
                             : redisAsyncConnect(o->redis_host, o->redis_port);
    if (s->sub == NULL || s->sub->err) {
        fprintf(stderr, "wishbench agents: cannot reach redis\n");
        return -1;
    }
    redisLibeventAttach(s->sub, s->base);
    redisAsyncCommand(s->sub, wb_on_message, NULL, "SUBSCRIBE mw:ev:%s",
                      o->city);
    for (long n = 0; n < o->preconnect; n++)
        if (wb_open_session(s, n) != 0) break;
    s->stop_ev = event_new(s->base, stop_fd, EV_READ, wb_on_stop, s);
    s->tick_ev = event_new(s->base, -1, EV_PERSIST, wb_on_tick, s);
    struct timeval tick = {0, 100000};
    event_add(s->stop_ev, NULL);
    event_add(s->tick_ev, &tick);
    event_base_dispatch(s->base);

    /* tell the parent, then free everything */
    char line[400];
    int k = snprintf(line, sizeof(line),
                     "S %llu %llu %llu %llu %llu %llu %llu %llu %s\n",
                     (unsigned long long)s->st.offers,
                     (unsigned long long)s->st.sent,
                     (unsigned long long)s->st.accepted,
                     (unsigned long long)s->st.conflicts,
                     (unsigned long long)s->st.errors,
                     (unsigned long long)s->st.stale,
                     (unsigned long long)s->st.sessions,
                     (unsigned long long)s->st.session_errors,
                     s->st.first_error[0] ? s->st.first_error : "-");
    if (k > 0 && write(out_fd, line, (size_t)k) < 0) { /* parent gone */
    }
    for (long n = 0; n < s->nag; n++)
        if (s->ag[n].a) wc_async_free(s->ag[n].a);
    redisAsyncFree(s->sub);
    event_free(s->stop_ev);
    event_free(s->tick_ev);
    event_base_free(s->base);
    free(s->ag);
    free(s->fifo);
    free(s->seen);
    return 0;
}

/* ------------------------------------------------------------------------
 * The parent's side: fork, wait for ready, stop, collect
 * --------------------------------------------------------------------- */

int wb_agents_start(const wb_agents_opts *o, wb_agents_proc *p)
{
    int stop[2], out[2];
    memset(p, 0, sizeof(*p));
    if (pipe(stop) != 0) return -1;
    if (pipe(out) != 0) {
        close(stop[0]);
        close(stop[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(stop[1]);
        close(out[0]);
        signal(SIGPIPE, SIG_IGN);
        int rc = wb_agents_run(o, stop[0], out[1]);
        _exit(rc == 0 ? 0 : 1);
    }
    close(stop[0]);
    close(out[1]);
    p->pid = pid;
    p->stop_fd = stop[1];
    p->out_fd = out[0];
    /* wait for "R <ready>" (the child gives up waiting after 60 s) */
    char buf[64];
    size_t have = 0;
    while (have < sizeof(buf) - 1) {
        ssize_t n = read(p->out_fd, buf + have, 1);
        if (n <= 0) return -1;
        if (buf[have++] == '\n') break;
    }
    buf[have] = '\0';
    if (sscanf(buf, "R %ld", &p->ready) != 1) return -1;
    return 0;
}

int wb_agents_stop(wb_agents_proc *p, wb_agents_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (p->pid <= 0) return -1;
    close(p->stop_fd); /* EOF on the child's stop pipe */
    char buf[512];
    size_t have = 0;
    uint64_t deadline = wb_now_us() + 15000000;
    while (have < sizeof(buf) - 1 && wb_now_us() < deadline) {
        ssize_t n = read(p->out_fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        if (memchr(buf, '\n', have)) break;
    }
    buf[have] = '\0';
    close(p->out_fd);
    int rc = -1;
    unsigned long long v[8];
    if (sscanf(buf, "S %llu %llu %llu %llu %llu %llu %llu %llu %159[^\n]",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
               st->first_error) >= 8) {
        st->offers = v[0];
        st->sent = v[1];
        st->accepted = v[2];
        st->conflicts = v[3];
        st->errors = v[4];
        st->stale = v[5];
        st->sessions = v[6];
        st->session_errors = v[7];
        if (strcmp(st->first_error, "-") == 0) st->first_error[0] = '\0';
        rc = 0;
    } else {
        kill(p->pid, SIGKILL);
    }
    /* the child exits at once after its line; bounded wait, then kill */
    int status;
    for (int i = 0; i < 500; i++) {
        if (waitpid(p->pid, &status, WNOHANG) != 0) break;
        if (i == 499) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
        }
        usleep(20000);
    }
    p->pid = 0;
    return rc;
}
