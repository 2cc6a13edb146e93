/* wishbench_logins.c -- log-ins per second through wishd, and what one
 * password hash costs; see wishbench.h (wb_logins_run).
 *
 * Three steps against one wishd, then two measurements on this process
 * alone:
 *   1. invites: an admin session asks account.invite for the codes, 100
 *      a call, all calls in flight at once (a code is a Redis write; no
 *      KDF);
 *   2. sign-ups: auth.signup of each account before any hello, over the
 *      connections, `pipeline` in flight on each; an UNAVAILABLE answer
 *      (wishd's KDF queue full) is made again, as an app would;
 *   3. log-ins: auth.login of random accounts with the right password,
 *      closed loop for `seconds`; every answer counts (ok, UNAVAILABLE,
 *      other errors), none is made again: UNAVAILABLE is the figure;
 *   4. the same argon2id hash wishd makes (kdf_hash_now(), the same
 *      parameters) timed on this thread: what one guess costs a core of
 *      someone who holds the stored hashes;
 *   5. SHA-256 of a salt and a password on this thread, for comparison.
 *
 * The sign-up and log-in connections never say hello, as a log-in screen
 * would not: wishd closes such a connection after hello-timeout (10 s by
 * default). Then it is opened again; its requests in flight are counted
 * as lost (sign-ups made again). bench/run.sh gives wishd a long
 * hello-timeout so that nothing is lost.
 *
 * One thread, one poll() loop; every wait is bounded.
 */
#include "clients/wishbench/wishbench.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "proto/token.h"
#include "server/kdf.h"

#define LG_INVITE_BATCH 100 /* account.invite's `count` at most */
#define LG_PASSWORD "bench-Passw0rd-42" /* 8..256 bytes, any will do */
#define LG_USER_MAX 48
#define LG_CODE_MAX 64
#define LG_READ 65536
#define LG_SETUP_MS 120000 /* invites or sign-ups: give up after this */
#define LG_DRAIN_MS 10000  /* answers after the last log-in sent */

enum lg_phase { LG_INVITE, LG_SIGNUP, LG_LOGIN };

typedef struct lg_run {
    const wb_logins_opts *o;
    wb_logins_result *res;
    enum lg_phase phase;
    wb_conn **c; /* this phase's connections */
    int n;
    int pipeline;
    int reconnect; /* pre-hello connections: open again when closed */
    char (*user)[LG_USER_MAX];
    char (*code)[LG_CODE_MAX];
    long *todo; /* invites: batches; sign-ups: accounts still to send */
    long ntodo;
    long *made; /* accounts signed up */
    long nmade;
    uint64_t rng;
} lg_run;

static void lg_note_error(wb_logins_result *res, const msgpack_object *err)
{
    if (res->first_error[0]) return;
    if (err->type == MSGPACK_OBJECT_ARRAY && err->via.array.size == 2 &&
        err->via.array.ptr[1].type == MSGPACK_OBJECT_STR)
        snprintf(res->first_error, sizeof(res->first_error), "%.*s",
                 (int)err->via.array.ptr[1].via.str.size,
                 err->via.array.ptr[1].via.str.ptr);
    else
        snprintf(res->first_error, sizeof(res->first_error), "(no text)");
}

static void lg_kv(msgpack_packer *pk, const char *k, const char *v)
{
    proto_pack_cstr(pk, k);
    proto_pack_cstr(pk, v);
}

/* Sends this phase's next request on c, when there is one; remembers in
 * slot_due what its answer needs (batch or account index, or the send
 * time). Returns 1 when one was sent. */
static int lg_send_next(lg_run *r, wb_conn *c, uint64_t now)
{
    const wb_logins_opts *o = r->o;
    uint64_t keep;
    if (r->phase == LG_LOGIN ? r->nmade == 0 : r->ntodo == 0) return 0;
    uint32_t id = ++c->next_id;
    if (id == 0) id = c->next_id = 1; /* slot_id 0 means free */
    switch (r->phase) {
    case LG_INVITE: {
        long b = r->todo[--r->ntodo];
        long left = o->accounts - b * LG_INVITE_BATCH;
        proto_pack_request_begin(&c->pk, id, "account.invite");
        msgpack_pack_array(&c->pk, 1);
        msgpack_pack_map(&c->pk, 3);
        lg_kv(&c->pk, "role", "volunteer");
        lg_kv(&c->pk, "region", o->city);
        proto_pack_cstr(&c->pk, "count");
        msgpack_pack_int64(&c->pk, left < LG_INVITE_BATCH ? left
                                                          : LG_INVITE_BATCH);
        keep = (uint64_t)b;
        break;
    }
    case LG_SIGNUP: {
        long i = r->todo[--r->ntodo];
        char name[40];
        snprintf(name, sizeof(name), "Bench Login %ld", i);
        proto_pack_request_begin(&c->pk, id, "auth.signup");
        msgpack_pack_array(&c->pk, 1);
        msgpack_pack_map(&c->pk, 5);
        lg_kv(&c->pk, "city", o->city);
        lg_kv(&c->pk, "invite", r->code[i]);
        lg_kv(&c->pk, "user", r->user[i]);
        lg_kv(&c->pk, "name", name);
        lg_kv(&c->pk, "password", LG_PASSWORD);
        keep = (uint64_t)i;
        break;
    }
    default: {
        long i = r->made[wb_rand(&r->rng) % (uint64_t)r->nmade];
        proto_pack_request_begin(&c->pk, id, "auth.login");
        msgpack_pack_array(&c->pk, 1);
        msgpack_pack_map(&c->pk, 3);
        lg_kv(&c->pk, "city", o->city);
        lg_kv(&c->pk, "user", r->user[i]);
        lg_kv(&c->pk, "password", LG_PASSWORD);
        keep = now;
        r->res->sent++;
        break;
    }
    }
    c->slot_id[id % WB_NET_SLOTS] = id;
    c->slot_due[id % WB_NET_SLOTS] = keep;
    c->inflight++;
    return 1;
}

/* One answer of this phase: `keep` is what lg_send_next() remembered. */
static void lg_answer(lg_run *r, const proto_msg *m, uint64_t keep,
                      uint64_t now)
{
    wb_logins_result *res = r->res;
    int failed = m->error->type != MSGPACK_OBJECT_NIL;
    switch (r->phase) {
    case LG_INVITE: {
        const msgpack_object *codes = failed ? NULL
                                             : proto_map_get(m->result,
                                                             "codes");
        if (codes == NULL || codes->type != MSGPACK_OBJECT_ARRAY) {
            if (failed) lg_note_error(res, m->error);
            return; /* too few codes: wb_logins_run() says so */
        }
        long base = (long)keep * LG_INVITE_BATCH;
        for (uint32_t k = 0; k < codes->via.array.size; k++) {
            const msgpack_object *s = &codes->via.array.ptr[k];
            if (base + (long)k >= r->o->accounts ||
                s->type != MSGPACK_OBJECT_STR || s->via.str.size >= LG_CODE_MAX)
                continue;
            memcpy(r->code[base + k], s->via.str.ptr, s->via.str.size);
            r->code[base + k][s->via.str.size] = '\0';
            res->invited++;
        }
        return;
    }
    case LG_SIGNUP:
        if (failed && wb_error_unavailable(m->error)) {
            /* the KDF queue was full: nothing was done, the code holds */
            res->signup_unavailable++;
            r->todo[r->ntodo++] = (long)keep;
        } else if (failed) {
            lg_note_error(res, m->error);
            res->signup_errors++;
        } else {
            r->made[r->nmade++] = (long)keep;
        }
        return;
    default:
        if (!failed) {
            res->ok++;
            wb_hist_add(&res->lat, now > keep ? now - keep : 0);
        } else if (wb_error_unavailable(m->error)) {
            res->unavailable++;
        } else {
            lg_note_error(res, m->error);
            res->errors++;
        }
    }
}

/* Reads what arrived on c and hands each answer to lg_answer(). 0, or
 * -1 when the connection broke (c->dead set). */
static int lg_read(lg_run *r, wb_conn *c, uint64_t now)
{
    char buf[LG_READ];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            c->dead = 1;
            return -1;
        }
        if (n < 0) return 0;
        size_t off = 0;
        while (off < (size_t)n) {
            off += proto_reader_feed(c->rd, buf + off, (size_t)n - off);
            proto_msg m;
            proto_error err;
            int rc;
            while ((rc = proto_reader_next(c->rd, &m, &err)) == 1) {
                if (m.type != PROTO_MSG_RESPONSE) continue; /* notices */
                size_t s = m.msgid % WB_NET_SLOTS;
                if (c->slot_id[s] != m.msgid) continue;
                c->slot_id[s] = 0;
                c->inflight--;
                lg_answer(r, &m, c->slot_due[s], now);
            }
            if (rc < 0) {
                fprintf(stderr, "wishbench: bad input from wishd: %s\n",
                        err.msg);
                c->dead = 1;
                return -1;
            }
        }
        if ((size_t)n < sizeof(buf)) return 0;
    }
}

/* A connection wishd closed (hello-timeout, most likely): its requests
 * in flight are lost (sign-ups go back on the list) and, for pre-hello
 * phases, it is opened again. 0, or -1 when it cannot be. */
static int lg_replace(lg_run *r, int i)
{
    wb_conn *c = r->c[i];
    for (size_t s = 0; s < WB_NET_SLOTS; s++) {
        if (c->slot_id[s] == 0) continue;
        r->res->lost++;
        if (r->phase == LG_SIGNUP) r->todo[r->ntodo++] = (long)c->slot_due[s];
    }
    wb_conn_free(c);
    r->c[i] = NULL;
    if (!r->reconnect) return -1;
    r->c[i] = wb_conn_new(r->o->host, r->o->port);
    if (r->c[i] == NULL) return -1;
    r->res->reconnects++;
    return 0;
}

/* Runs the phase: keeps every connection `pipeline` deep while there is
 * work and now < send_until, until every answer is in or until
 * give_up_at. 0, or -1 when every connection is gone. */
static int lg_drive(lg_run *r, uint64_t send_until, uint64_t give_up_at)
{
    struct pollfd *pfd = calloc((size_t)r->n, sizeof(*pfd));
    if (pfd == NULL) return -1;
    uint64_t last_progress = wb_now_us(), last_ok = 0;
    int rc = 0;
    for (;;) {
        uint64_t now = wb_now_us();
        int inflight = 0, alive = 0;
        for (int i = 0; i < r->n; i++) {
            if (r->c[i] != NULL && r->c[i]->dead) lg_replace(r, i);
            wb_conn *c = r->c[i];
            pfd[i].fd = -1;
            pfd[i].revents = 0;
            if (c == NULL) continue;
            while (now < send_until && c->inflight < r->pipeline &&
                   lg_send_next(r, c, now))
                ;
            wb_conn_flush(c);
            pfd[i].fd = c->fd;
            pfd[i].events = POLLIN;
            if (c->out.size > c->out_off) pfd[i].events |= POLLOUT;
            inflight += c->inflight;
            alive++;
        }
        if (alive == 0) {
            fprintf(stderr, "wishbench: every connection broke\n");
            rc = -1;
            break;
        }
        int more = now < send_until &&
                   (r->phase == LG_LOGIN ? r->nmade > 0 : r->ntodo > 0);
        if ((!more && inflight == 0) || now >= give_up_at) break;
        if (poll(pfd, (nfds_t)r->n, 100) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        now = wb_now_us();
        for (int i = 0; i < r->n; i++)
            if (r->c[i] && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
                lg_read(r, r->c[i], now);
        if (r->o->progress && now - last_progress >= 1000000) {
            uint64_t ok = r->phase == LG_LOGIN ? r->res->ok
                                               : (uint64_t)r->nmade;
            fprintf(stderr, "\r  logins: %s %8llu  %6.0f/s  unavailable "
                    "%llu  errors %llu   ",
                    r->phase == LG_LOGIN ? "logged in" : "signed up",
                    (unsigned long long)ok,
                    (double)(ok - last_ok) * 1e6 /
                        (double)(now - last_progress),
                    (unsigned long long)r->res->unavailable,
                    (unsigned long long)(r->res->errors +
                                         r->res->signup_errors));
            last_progress = now;
            last_ok = ok;
        }
    }
    if (r->o->progress) fputc('\n', stderr);
    free(pfd);
    return rc;
}

/* Opens r->n pre-hello connections into r->c. 0, or -1. */
static int lg_open(lg_run *r)
{
    for (int i = 0; i < r->n; i++) {
        r->c[i] = wb_conn_new(r->o->host, r->o->port);
        if (r->c[i] == NULL) {
            fprintf(stderr, "wishbench: cannot connect to %s:%d\n",
                    r->o->host, r->o->port);
            return -1;
        }
    }
    return 0;
}

/* Times kdf_hash_now() with o's parameters: at least 3 hashes and
 * 0.3 s, at most 1 000 hashes or 10 s. Mean milliseconds per hash, or
 * -1 when hashing fails. */
static double lg_time_kdf(const wb_logins_opts *o, int *hashes)
{
    kdf_options ko = {.memory_kib = o->kdf_memory_kib,
                      .passes = o->kdf_time, .threads = 1,
                      .queue_max = 1};
    char out[KDF_ENCODED_MAX];
    uint64_t t0 = wb_now_us(), t = t0;
    int n = 0;
    while (n < 3 || (t - t0 < 300000 && n < 1000)) {
        if (kdf_hash_now(&ko, LG_PASSWORD, strlen(LG_PASSWORD), out) != 0)
            return -1;
        n++;
        t = wb_now_us();
        if (t - t0 > 10000000) break;
    }
    *hashes = n;
    return (double)(t - t0) / 1000.0 / n;
}

/* SHA-256 of 32 bytes (a 16-byte salt and a 16-byte password: one
 * block) a second on this thread, over about 0.5 s; -1 on failure. One
 * context is reused, as a cracker would, so the figure is the digest's
 * own cost, not OpenSSL's per-call set-up. */
static double lg_sha256_rate(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned char in[32] = "0123456789abcdefbench-password!", dig[32];
    unsigned int dlen;
    if (ctx == NULL || md == NULL) {
        EVP_MD_CTX_free(ctx);
        EVP_MD_free(md);
        return -1;
    }
    uint64_t t0 = wb_now_us(), t = t0, n = 0;
    while (t - t0 < 500000) {
        for (int k = 0; k < 4096; k++) {
            in[0] = (unsigned char)n++; /* a new guess each time */
            if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
                EVP_DigestUpdate(ctx, in, sizeof(in)) != 1 ||
                EVP_DigestFinal_ex(ctx, dig, &dlen) != 1) {
                EVP_MD_CTX_free(ctx);
                EVP_MD_free(md);
                return -1;
            }
        }
        t = wb_now_us();
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return (double)n * 1e6 / (double)(t - t0);
}

int wb_logins_run(const wb_logins_opts *o, wb_logins_result *res)
{
    memset(res, 0, sizeof(*res));
    int rc = -1;
    long n = o->accounts;
    lg_run r = {.o = o, .res = res,
                .rng = o->seed * 0x9E3779B97F4A7C15ull + 1};
    r.user = calloc((size_t)n, sizeof(*r.user));
    r.code = calloc((size_t)n, sizeof(*r.code));
    r.todo = calloc((size_t)n, sizeof(*r.todo));
    r.made = calloc((size_t)n, sizeof(*r.made));
    wb_conn *admin = NULL;
    wb_conn **conns = calloc((size_t)o->connections, sizeof(*conns));
    if (!r.user || !r.code || !r.todo || !r.made || !conns) goto out;

    /* User ids unique to this run: a city may already hold the accounts
     * of an earlier run, hashed at another cost. */
    unsigned tag = (unsigned)((uint64_t)time(NULL) * 2654435761u ^
                              (uint64_t)getpid() << 8) & 0xffffffu;
    for (long i = 0; i < n; i++)
        snprintf(r.user[i], LG_USER_MAX, "lb%06x-%ld", tag, i);

    /* 1. invites, from an admin of the city */
    token_claims cl = {.role = ROLE_ADMIN};
    snprintf(cl.user, sizeof(cl.user), "bench-admin");
    snprintf(cl.region, sizeof(cl.region), "%s", o->city);
    cl.issued = (int64_t)time(NULL);
    cl.expires = cl.issued + 3600;
    char token[TOKEN_MAX];
    if (token_mint(o->secret, o->secret_len, &cl, token, sizeof(token)) !=
        0) {
        fprintf(stderr, "wishbench: cannot mint the admin token\n");
        goto out;
    }
    admin = wb_conn_new(o->host, o->port);
    if (admin == NULL) {
        fprintf(stderr, "wishbench: cannot connect to %s:%d\n", o->host,
                o->port);
        goto out;
    }
    if (wb_conn_hello(admin, token) != 0) goto out;
    long batches = (n + LG_INVITE_BATCH - 1) / LG_INVITE_BATCH;
    for (long b = 0; b < batches; b++) r.todo[b] = batches - 1 - b;
    r.ntodo = batches;
    r.phase = LG_INVITE;
    r.c = &admin;
    r.n = 1;
    r.pipeline = WB_NET_SLOTS / 2;
    uint64_t t0 = wb_now_us();
    if (lg_drive(&r, UINT64_MAX, t0 + LG_SETUP_MS * 1000ull) != 0 ||
        res->invited < n) {
        fprintf(stderr, "wishbench: %ld of %ld invites made%s%s\n",
                res->invited, n, res->first_error[0] ? ": " : "",
                res->first_error);
        goto out;
    }

    /* 2. sign-ups, before any hello */
    for (long i = 0; i < n; i++) r.todo[i] = n - 1 - i;
    r.ntodo = n;
    r.phase = LG_SIGNUP;
    r.c = conns;
    r.n = o->connections;
    r.pipeline = o->pipeline;
    r.reconnect = 1;
    if (lg_open(&r) != 0) goto out;
    t0 = wb_now_us();
    if (lg_drive(&r, UINT64_MAX, t0 + LG_SETUP_MS * 1000ull) != 0) goto out;
    res->created = r.nmade;
    res->signup_s = (double)(wb_now_us() - t0) / 1e6;
    if (r.nmade == 0) {
        fprintf(stderr, "wishbench: no account could be made%s%s\n",
                res->first_error[0] ? ": " : "", res->first_error);
        goto out;
    }

    /* 3. log-ins, closed loop */
    r.phase = LG_LOGIN;
    t0 = wb_now_us();
    uint64_t stop = t0 + (uint64_t)(o->seconds * 1e6);
    if (lg_drive(&r, stop, stop + LG_DRAIN_MS * 1000ull) != 0) goto out;
    res->elapsed_s = (double)(wb_now_us() - t0) / 1e6;
    for (int i = 0; i < r.n; i++) { /* what never came back */
        if (conns[i] == NULL) continue;
        res->lost += (uint64_t)conns[i]->inflight;
        wb_conn_free(conns[i]);
        conns[i] = NULL;
    }

    /* 4., 5.: wishd idle now, this process alone on its core */
    res->kdf_hash_ms = lg_time_kdf(o, &res->kdf_hashes);
    res->sha256_per_s = lg_sha256_rate();
    rc = 0;
out:
    wb_conn_free(admin);
    if (conns)
        for (int i = 0; i < o->connections; i++) wb_conn_free(conns[i]);
    free(conns);
    free(r.user);
    free(r.code);
    free(r.todo);
    free(r.made);
    return rc;
}
