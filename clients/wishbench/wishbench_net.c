/* wishbench_net.c -- pipelined load on wishd, histograms, time, random;
 * see wishbench.h.
 *
 * Each connection is a non-blocking TCP socket with an output buffer and
 * a proto_reader. One poll() loop drives them all: closed loop keeps
 * `pipeline` requests in flight per connection; open loop sends at
 * `rate` per second spread over the connections and measures latency
 * from the time a request was *due* (so a stalled server is not hidden
 * by a stalled sender). Every wait is bounded.
 */
#include "clients/wishbench/wishbench.h"
#include "clients/wishbench/wb_pace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

/* ========================================================================
 * Histogram, time, random
 * ===================================================================== */

static size_t wb_hist_index(uint64_t us)
{
    if (us < WB_HIST_SUB) return (size_t)us;
    int msb = 63 - __builtin_clzll(us); /* >= 6 */
    uint64_t sub = (us >> (msb - 6)) & (WB_HIST_SUB - 1);
    size_t i = (size_t)(msb - 5) * WB_HIST_SUB + (size_t)sub;
    return i < WB_HIST_BUCKETS ? i : WB_HIST_BUCKETS - 1;
}

static double wb_hist_value(size_t i)
{
    if (i < WB_HIST_SUB) return (double)i;
    int msb = (int)(i / WB_HIST_SUB) + 5;
    uint64_t sub = i % WB_HIST_SUB;
    /* the middle of the bucket */
    return ldexp((double)(WB_HIST_SUB + sub) + 0.5, msb - 6);
}

void wb_hist_add(wb_hist *h, uint64_t us)
{
    h->count[wb_hist_index(us)]++;
    h->n++;
    h->sum_us += (double)us;
    if (us > h->max_us) h->max_us = us;
}

double wb_hist_quantile(const wb_hist *h, double q)
{
    if (h->n == 0) return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->n);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < WB_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) {
            double v = wb_hist_value(i);
            return v > (double)h->max_us ? (double)h->max_us : v;
        }
    }
    return (double)h->max_us;
}

uint64_t wb_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t wb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

double wb_rand01(uint64_t *s)
{
    return (double)(wb_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ========================================================================
 * Connections
 * ===================================================================== */

#define NET_READ 65536

int wb_dial(const char *host, int port)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || ai == NULL) return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* wb_dial(), then no Nagle and non-blocking, for the request pipelines. */
static int wb_net_dial(const char *host, int port)
{
    int fd = wb_dial(host, port);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

int wb_conn_detach(wb_conn *c)
{
    int fd = c->fd;
    c->fd = -1;
    wb_conn_free(c);
    return fd;
}

void wb_conn_free(wb_conn *c)
{
    if (c == NULL) return;
    if (c->fd >= 0) close(c->fd);
    wb_ws_free(c->ws);
    proto_reader_free(c->rd);
    msgpack_sbuffer_destroy(&c->out);
    free(c);
}

void wb_conn_end_msg(wb_conn *c)
{
    if (c->ws != NULL) wb_ws_end_msg(c);
}

ssize_t wb_conn_read(wb_conn *c, void *buf, size_t size)
{
    if (c->ws != NULL) return wb_ws_read(c, buf, size);
    return recv(c->fd, buf, size, 0);
}

int wb_conn_want_write(const wb_conn *c)
{
    if (c->ws != NULL) return wb_ws_want_write(c);
    return c->out.size > c->out_off;
}

wb_conn *wb_conn_new(const char *host, int port)
{
    wb_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    msgpack_sbuffer_init(&c->out);
    msgpack_packer_init(&c->pk, &c->out, msgpack_sbuffer_write);
    proto_limits lim;
    proto_limits_default(&lim);
    lim.max_frame = 1 << 20;
    lim.max_elements = 65536;
    lim.max_string = 1 << 20;
    c->rd = proto_reader_new(&lim);
    c->fd = wb_net_dial(host, port);
    if (c->rd == NULL || c->fd < 0) {
        wb_conn_free(c);
        return NULL;
    }
    return c;
}

int wb_conn_flush(wb_conn *c)
{
    if (c->ws != NULL) return wb_ws_flush(c);
    while (c->out_off < c->out.size) {
        ssize_t n = send(c->fd, c->out.data + c->out_off,
                         c->out.size - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        } else {
            c->dead = 1;
            return -1;
        }
    }
    msgpack_sbuffer_clear(&c->out);
    c->out_off = 0;
    return 0;
}

/* ========================================================================
 * The post loop
 * ===================================================================== */

/* The tasks of this run by number (T<n>): when each was due, when its
 * `assigned` event came. A response and the `assigned` event can arrive
 * in either order (the event comes on every connection of the
 * coordinator), so whichever comes second records the latency. */
typedef struct task_rec {
    uint64_t due;      /* 0: not (yet) answered as ours */
    uint64_t assigned; /* 0: no event yet */
    int done;
} task_rec;

#define TASK_TABLE_MAX (64u << 20) /* task numbers tracked, at most */

typedef struct net_run {
    const wb_net_opts *o;
    wb_net_result *res;
    wb_conn **conns;
    int n;
    uint64_t rng;
    int64_t wall_now;
    uint64_t tasks;
    task_rec *trec; /* by task number - tbase */
    uint64_t tbase, tcap;
    int tbase_set;
    uint64_t last_assigned;
    uint64_t measure_from; /* latencies of posts due from then on count */
} net_run;

/* The number of "T<n>" (str), or 0. */
uint64_t wb_task_number(const msgpack_object *o)
{
    uint64_t n;
    if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size < 2 ||
        o->via.str.ptr[0] != 'T' ||
        proto_parse_u64(o->via.str.ptr + 1, o->via.str.size - 1, &n) != 0)
        return 0;
    return n;
}

/* The record of task n, growing the table; NULL when out of range. */
static task_rec *wb_task_slot(net_run *r, uint64_t n)
{
    if (!r->tbase_set || n < r->tbase || n - r->tbase >= TASK_TABLE_MAX)
        return NULL;
    uint64_t i = n - r->tbase;
    if (i >= r->tcap) {
        uint64_t cap = r->tcap ? r->tcap : 65536;
        while (cap <= i) cap *= 2;
        task_rec *t = realloc(r->trec, cap * sizeof(*t));
        if (t == NULL) return NULL;
        memset(t + r->tcap, 0, (cap - r->tcap) * sizeof(*t));
        r->trec = t;
        r->tcap = cap;
    }
    return &r->trec[i];
}

static void wb_task_record(net_run *r, task_rec *t)
{
    if (t->done || t->due == 0 || t->assigned == 0) return;
    t->done = 1;
    r->res->assigned++;
    if (t->due >= r->measure_from)
        wb_hist_add(&r->res->asg_lat,
                    t->assigned > t->due ? t->assigned - t->due : 0);
    if (t->assigned > r->last_assigned) r->last_assigned = t->assigned;
}

/* A post answered: task n is ours, due at `due`. */
static void wb_task_answered(net_run *r, const msgpack_object *result,
                             uint64_t due)
{
    uint64_t n = wb_task_number(proto_map_get(result, "task_id"));
    if (n == 0) return;
    if (!r->tbase_set) {
        /* room below for the answers still on their way */
        r->tbase = n > 100000 ? n - 100000 : 1;
        r->tbase_set = 1;
    }
    task_rec *t = wb_task_slot(r, n);
    if (t == NULL) return;
    t->due = due ? due : 1;
    wb_task_record(r, t);
}

/* [2, "event", [{type: "assigned", task: {task_id}}]]. */
static void wb_task_event(net_run *r, const proto_msg *m, uint64_t now)
{
    if (m->method_len != 5 || memcmp(m->method, "event", 5) != 0 ||
        m->params->via.array.size < 1)
        return;
    const msgpack_object *ev = &m->params->via.array.ptr[0];
    const msgpack_object *type = proto_map_get(ev, "type");
    if (type == NULL || type->type != MSGPACK_OBJECT_STR ||
        type->via.str.size != 8 || memcmp(type->via.str.ptr, "assigned", 8))
        return;
    uint64_t n = wb_task_number(proto_map_get(proto_map_get(ev, "task"),
                                         "task_id"));
    task_rec *t = n ? wb_task_slot(r, n) : NULL;
    if (t == NULL || t->assigned) return;
    t->assigned = now ? now : 1;
    wb_task_record(r, t);
}

/* One request: task.post of the next task, or a ping (opts->ping). */
static void wb_net_send_post(net_run *r, wb_conn *c, uint64_t due)
{
    uint32_t id = ++c->next_id;
    if (r->o->ping) {
        proto_pack_request_begin(&c->pk, id, "ping");
        msgpack_pack_array(&c->pk, 0);
    } else {
        proto_pack_request_begin(&c->pk, id, "task.post");
        msgpack_pack_array(&c->pk, 1);
        wb_task t;
        wb_task_draw(&r->rng, r->wall_now, r->o->city, &t);
        wb_task_pack(&c->pk, &t, ++r->tasks);
    }
    wb_conn_end_msg(c);
    c->slot_id[id % WB_NET_SLOTS] = id;
    c->slot_due[id % WB_NET_SLOTS] = due;
    c->inflight++;
    r->res->sent++;
}

static void wb_net_note_error(wb_net_result *res, const msgpack_object *err)
{
    res->errors++;
    if (res->first_error_code != 0) return;
    res->first_error_code = 1;
    if (err->type == MSGPACK_OBJECT_ARRAY && err->via.array.size == 2) {
        const msgpack_object *code = &err->via.array.ptr[0];
        const msgpack_object *msg = &err->via.array.ptr[1];
        if (code->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            res->first_error_code = code->via.u64;
        if (msg->type == MSGPACK_OBJECT_STR)
            snprintf(res->first_error, sizeof(res->first_error), "%.*s",
                     (int)msg->via.str.size, msg->via.str.ptr);
    }
}

int wb_error_unavailable(const msgpack_object *err)
{
    return err->type == MSGPACK_OBJECT_ARRAY && err->via.array.size >= 1 &&
           err->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
           err->via.array.ptr[0].via.u64 == 7;
}

/* A session acks the events each read brought, as a client does: a
 * later run as the same user (the bench's next phase on the same city)
 * would otherwise meet an inbox wishd replays only up to hello-replay-max
 * before it waits for an ack, pushing nothing live meanwhile (the second
 * phase then saw no `assigned` at all). The ack's answer carries
 * WB_ACK_MSGID, no slot's id, so it is not taken for a post's. */
#define WB_ACK_MSGID 0x7ffffffeu

/* Notes an event pushed on c: its id is the next ack's `upto`. */
static void wb_conn_note_event(wb_conn *c, const proto_msg *m)
{
    if (m->method_len != 5 || memcmp(m->method, "event", 5) != 0 ||
        m->params->via.array.size < 1)
        return;
    const msgpack_object *id = proto_map_get(&m->params->via.array.ptr[0],
                                             "id");
    if (id == NULL || id->type != MSGPACK_OBJECT_STR ||
        id->via.str.size >= sizeof(c->ev_last))
        return;
    memcpy(c->ev_last, id->via.str.ptr, id->via.str.size);
    c->ev_last[id->via.str.size] = '\0';
    c->ev_unacked++;
}

/* Acks the events noted on c since its last ack, if any. */
static void wb_conn_ack_events(wb_conn *c)
{
    if (c->ev_unacked == 0) return;
    c->ev_unacked = 0;
    proto_pack_request_begin(&c->pk, WB_ACK_MSGID, "ack");
    msgpack_pack_array(&c->pk, 1);
    msgpack_pack_map(&c->pk, 1);
    proto_pack_cstr(&c->pk, "upto");
    proto_pack_cstr(&c->pk, c->ev_last);
    wb_conn_end_msg(c);
}

/* Reads what arrived; handles responses. 0, or -1 when it broke. */
static int wb_net_read(net_run *r, wb_conn *c, uint64_t now)
{
    char buf[NET_READ];
    for (;;) {
        ssize_t n = wb_conn_read(c, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            c->dead = 1;
            return -1;
        }
        if (n < 0) return 0;
        size_t off = 0;
        while (off < (size_t)n) {
            off += proto_reader_feed(c->rd, buf + off, (size_t)n - off);
            proto_msg msg;
            proto_error err;
            int rc;
            while ((rc = proto_reader_next(c->rd, &msg, &err)) == 1) {
                if (msg.type == PROTO_MSG_NOTIFY) {
                    if (r->o->track_assigned) wb_task_event(r, &msg, now);
                    wb_conn_note_event(c, &msg);
                }
                if (msg.type != PROTO_MSG_RESPONSE) continue;
                size_t s = msg.msgid % WB_NET_SLOTS;
                if (c->slot_id[s] != msg.msgid) continue;
                c->slot_id[s] = 0;
                c->inflight--;
                uint64_t due = c->slot_due[s];
                if (msg.error->type != MSGPACK_OBJECT_NIL &&
                    r->o->retry_unavailable && wb_error_unavailable(msg.error) &&
                    r->res->sent > 0) {
                    /* UNAVAILABLE: the post is made again (a new one) */
                    r->res->sent--;
                    r->res->retried++;
                } else if (msg.error->type != MSGPACK_OBJECT_NIL) {
                    wb_net_note_error(r->res, msg.error);
                } else {
                    r->res->ok++;
                    if (due >= r->measure_from)
                        wb_hist_add(&r->res->lat, now > due ? now - due : 0);
                    if (r->o->track_assigned)
                        wb_task_answered(r, msg.result, due);
                }
            }
            if (rc < 0) {
                fprintf(stderr, "wishbench: bad input from wishd: %s\n",
                        err.msg);
                c->dead = 1;
                return -1;
            }
        }
        wb_conn_ack_events(c);
        if ((size_t)n < sizeof(buf)) return 0;
    }
}

int wb_conn_hello(wb_conn *c, const char *token)
{
    proto_pack_request_begin(&c->pk, 0x7fffffff, "hello");
    msgpack_pack_array(&c->pk, 1);
    msgpack_pack_map(&c->pk, 1);
    proto_pack_cstr(&c->pk, "token");
    proto_pack_cstr(&c->pk, token);
    wb_conn_end_msg(c);
    uint64_t deadline = wb_now_us() + 5000000;
    char buf[4096];
    while (wb_now_us() < deadline) {
        if (wb_conn_flush(c) != 0) return -1;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (wb_conn_want_write(c)) p.events |= POLLOUT;
        if (poll(&p, 1, 50) <= 0) continue;
        ssize_t n = wb_conn_read(c, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return -1;
        if (n < 0) continue;
        proto_reader_feed(c->rd, buf, (size_t)n);
        proto_msg msg;
        proto_error err;
        while (proto_reader_next(c->rd, &msg, &err) == 1) {
            if (msg.type == PROTO_MSG_RESPONSE && msg.msgid == 0x7fffffff) {
                if (msg.error->type != MSGPACK_OBJECT_NIL) {
                    fprintf(stderr, "wishbench: hello refused\n");
                    return -1;
                }
                return 0;
            }
        }
    }
    fprintf(stderr, "wishbench: no answer to hello within 5 s\n");
    return -1;
}

int wb_net_post(const wb_net_opts *o, wb_net_result *res)
{
    net_run r = {.o = o, .res = res, .rng = o->seed ? o->seed : 1};
    memset(res, 0, sizeof(*res));
    r.conns = calloc((size_t)o->connections, sizeof(*r.conns));
    struct pollfd *pfd = calloc((size_t)o->connections, sizeof(*pfd));
    if (r.conns == NULL || pfd == NULL) {
        free(r.conns);
        free(pfd);
        return -1;
    }
    int rc = -1;
    for (r.n = 0; r.n < o->connections; r.n++) {
        wb_conn *c = o->ws ? wb_conn_new_ws(o->host, o->port)
                           : wb_conn_new(o->host, o->port);
        if (c == NULL) {
            fprintf(stderr, "wishbench: cannot connect to %s:%d\n", o->host,
                    o->port);
            goto out;
        }
        r.conns[r.n] = c;
        if (wb_conn_hello(c, o->token) != 0) {
            r.n++;
            goto out;
        }
    }
    if (o->after_hello && o->after_hello(o->after_hello_arg) != 0) goto out;
    r.wall_now = (int64_t)time(NULL);
    int pipeline = o->pipeline > 0 ? o->pipeline : 1;
    if (pipeline > WB_NET_SLOTS / 2) pipeline = WB_NET_SLOTS / 2;
    uint64_t t0 = wb_now_us();
    r.measure_from = t0 + (uint64_t)(o->warmup_s * 1e6);
    uint64_t stop = t0 + (uint64_t)(o->seconds * 1e6);
    uint64_t drain_until = stop + 10000000; /* 10 s to get the answers */
    uint64_t last_progress = t0, last_ok = 0, last_answer = t0;
    uint64_t scheduled = 0, assign_until = 0;
    int rr = 0;
    for (;;) {
        uint64_t now = wb_now_us();
        int sending = now < stop &&
                      (o->max_requests == 0 || res->sent < o->max_requests);
        uint64_t outstanding = res->sent - res->ok - res->errors;
        if (!sending && (outstanding == 0 || now >= drain_until)) {
            /* then the `assigned` events still on their way */
            if (!o->track_assigned || res->assigned >= res->ok) break;
            if (assign_until == 0)
                assign_until = now + (uint64_t)(o->assign_wait_s * 1e6);
            uint64_t quiet = r.last_assigned > last_answer
                                 ? r.last_assigned : last_answer;
            if (now >= assign_until || now > quiet + 3000000) break;
        }
        if (sending) {
            if (o->rate > 0) {
                uint64_t due_n = wb_pace_due_count(now - t0, o->rate);
                while (scheduled < due_n) {
                    uint64_t due = wb_pace_due_at(t0, scheduled, o->rate);
                    wb_conn *c = NULL;
                    for (int k = 0; k < r.n && c == NULL; k++) {
                        wb_conn *cand = r.conns[(rr + k) % r.n];
                        if (!cand->dead && cand->inflight < pipeline) c = cand;
                    }
                    rr = (rr + 1) % r.n;
                    if (c == NULL) break; /* all full: stays due */
                    wb_net_send_post(&r, c, due);
                    scheduled++;
                }
                if (scheduled + 1000 < due_n) { /* far behind: count, skip */
                    res->late += due_n - scheduled - 1000;
                    scheduled = due_n - 1000;
                }
            } else {
                for (int i = 0; i < r.n; i++)
                    while (!r.conns[i]->dead &&
                           r.conns[i]->inflight < pipeline &&
                           (o->max_requests == 0 ||
                            res->sent < o->max_requests))
                        wb_net_send_post(&r, r.conns[i], now);
            }
        }
        int alive = 0;
        for (int i = 0; i < r.n; i++) {
            wb_conn *c = r.conns[i];
            if (!c->dead) wb_conn_flush(c);
            pfd[i].fd = c->dead ? -1 : c->fd;
            pfd[i].events = POLLIN;
            if (wb_conn_want_write(c)) pfd[i].events |= POLLOUT;
            pfd[i].revents = 0;
            alive += !c->dead;
        }
        if (alive == 0) {
            fprintf(stderr, "wishbench: every connection broke\n");
            break;
        }
        /* In open loop, wake when the next request falls due (at most a
         * millisecond on), so that it leaves then: its latency counts
         * from its due time. */
        uint64_t wait_us = 100000;
        if (o->rate > 0) {
            uint64_t next = wb_pace_due_at(t0, scheduled, o->rate);
            now = wb_now_us();
            wait_us = next > now ? next - now : 0;
            if (wait_us > 1000) wait_us = 1000;
        }
        struct timespec wait = {.tv_sec = (time_t)(wait_us / 1000000),
                                .tv_nsec = (long)(wait_us % 1000000) * 1000};
        if (ppoll(pfd, (nfds_t)r.n, &wait, NULL) < 0 && errno != EINTR) break;
        now = wb_now_us();
        uint64_t before = res->ok + res->errors;
        for (int i = 0; i < r.n; i++)
            if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
                wb_net_read(&r, r.conns[i], now);
        if (res->ok + res->errors != before) last_answer = now;
        if (o->progress && now - last_progress >= 1000000) {
            fprintf(stderr, "\r  wishd: %8llu ok %8.0f/s  errors %llu  "
                    "p99 %.2f ms  assigned %llu  p99 %.2f ms   ",
                    (unsigned long long)res->ok,
                    (double)(res->ok - last_ok) * 1e6 /
                        (double)(now - last_progress),
                    (unsigned long long)res->errors,
                    wb_hist_quantile(&res->lat, 0.99) / 1000.0,
                    (unsigned long long)res->assigned,
                    wb_hist_quantile(&res->asg_lat, 0.99) / 1000.0);
            last_progress = now;
            last_ok = res->ok;
        }
    }
    if (o->progress) fputc('\n', stderr);
    res->elapsed_s = (double)(last_answer - t0) / 1e6;
    res->assign_s = r.last_assigned > t0
                        ? (double)(r.last_assigned - t0) / 1e6 : 0;
    rc = 0;
out:
    for (int i = 0; i < r.n; i++)
        wb_conn_free(r.conns[i]);
    free(r.conns);
    free(pfd);
    free(r.trec);
    return rc;
}
