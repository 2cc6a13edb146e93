/* wishbench_crowd.c -- a crowd of connections sending random bytes, and
 * what it does to a well-behaved client's ping round trips.
 *
 * A child process keeps `connections` connections to wishd open and busy:
 * each sends a chunk of 1..512 random bytes every think_ms on average
 * until wishd cuts it (random bytes are nearly never a message), then
 * connects again at once: about connections / think_ms connections,
 * chunks and cuts a millisecond. Run against a wishd whose per-address
 * limits and hello-timeout are off, so that the crowd loads wishd instead
 * of being refused at accept.
 *
 * With pings > 0 the parent measures one client's ping round trips in
 * alternating quiet and loaded blocks, so that whatever else the machine
 * is doing falls on both alike; the figure is the ratio of the loaded
 * p99 to the quiet one. With pings == 0 the crowd just runs, loaded, for
 * `seconds` (test_hardening.c drives it so and checks wishd meanwhile).
 */
#include "clients/wishbench/wishbench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

#define CROWD_MAX 60000
#define CROWD_NICE 10       /* the crowd's CPU priority, see wb_crowd_child() */
#define CROWD_WARMUP 300    /* pings before the first block */
#define CROWD_SETTLE_MS 300 /* after 'r': the crowd connects */
#define CROWD_PAUSE_MS 100  /* after 'p': its sends stop */

typedef struct crowd_slot {
    int fd;
    bool connected;
    int64_t due_ms; /* next send, or next connect when fd < 0 */
} crowd_slot;

typedef struct crowd_child_args {
    struct sockaddr_in sa;
    int connections;
    int think_ms;
    uint64_t seed;
} crowd_child_args;

static int64_t wb_crowd_now_ms(void)
{
    return (int64_t)(wb_now_us() / 1000);
}

static int64_t wb_crowd_think(const crowd_child_args *a, uint64_t *rng,
                              int64_t now)
{
    return now + (int64_t)(wb_rand(rng) % (uint64_t)(2 * a->think_ms));
}

static void wb_crowd_connect(const crowd_child_args *a, crowd_slot *sl, int ep,
                             int64_t now, wb_crowd_stats *st)
{
    sl->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sl->fd >= 0 &&
        connect(sl->fd, (const struct sockaddr *)&a->sa, sizeof(a->sa)) !=
            0 &&
        errno != EINPROGRESS) {
        close(sl->fd);
        sl->fd = -1;
    }
    if (sl->fd < 0) {
        sl->due_ms = now + 10;
        st->failed++;
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = sl};
    epoll_ctl(ep, EPOLL_CTL_ADD, sl->fd, &ev);
    sl->connected = false;
    st->connects++;
}

static void wb_crowd_drop(crowd_slot *sl, int64_t now, long *open)
{
    if (sl->connected) (*open)--;
    close(sl->fd);
    sl->fd = -1;
    sl->connected = false;
    sl->due_ms = now; /* connect again at once */
}

/* The child: runs the crowd until told 'q' on ctl, pausing on 'p' (no
 * sends, no reconnects; open connections stay) and resuming on 'r'; then
 * writes its wb_crowd_stats to ctl and exits. */
static void wb_crowd_child(const crowd_child_args *a, int ctl)
{
    static crowd_slot slots[CROWD_MAX];
    wb_crowd_stats st = {0};
    long open = 0;
    /* On one small machine the crowd would otherwise win CPU time from
     * wishd and the measuring client by the scheduler's grace, not by
     * anything wishd does: over the network, attackers bring their own
     * CPUs. Niced, it still makes thousands of connections a second. */
    if (setpriority(PRIO_PROCESS, 0, CROWD_NICE) != 0) {
        /* not fatal: the figure is then a little worse */
    }
    bool paused = true;
    uint64_t rng = a->seed * 0x9e3779b97f4a7c15ULL | 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < a->connections; i++) slots[i].fd = -1;
    for (;;) {
        struct pollfd pc = {.fd = ctl, .events = POLLIN};
        if (poll(&pc, 1, 0) == 1) {
            char cmd;
            if (read(ctl, &cmd, 1) != 1 || cmd == 'q') break;
            paused = (cmd == 'p');
            int64_t now = wb_crowd_now_ms();
            /* Connect at once; spread the sends of those connected. */
            for (int i = 0; i < a->connections && !paused; i++)
                slots[i].due_ms =
                    slots[i].fd < 0 ? now : wb_crowd_think(a, &rng, now);
        }
        int64_t now = wb_crowd_now_ms();
        for (int i = 0; i < a->connections && !paused; i++) {
            crowd_slot *sl = &slots[i];
            if (sl->due_ms > now) continue;
            if (sl->fd < 0) {
                wb_crowd_connect(a, sl, ep, now, &st);
                if (sl->fd >= 0) sl->due_ms = wb_crowd_think(a, &rng, now);
            } else if (sl->connected) {
                unsigned char buf[512];
                size_t n = 1 + wb_rand(&rng) % sizeof(buf);
                for (size_t k = 0; k < n; k++)
                    buf[k] = (unsigned char)wb_rand(&rng);
                if (send(sl->fd, buf, n, MSG_NOSIGNAL) > 0) st.chunks++;
                sl->due_ms = wb_crowd_think(a, &rng, now);
            }
        }
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 2);
        now = wb_crowd_now_ms();
        for (int i = 0; i < n; i++) {
            crowd_slot *sl = evs[i].data.ptr;
            if (sl->fd < 0) continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                st.cut++;
                wb_crowd_drop(sl, now, &open);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && !sl->connected) {
                sl->connected = true;
                if (++open > st.peak_open) st.peak_open = open;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = sl};
                epoll_ctl(ep, EPOLL_CTL_MOD, sl->fd, &ev);
            }
            if (evs[i].events & EPOLLIN) {
                char buf[1024];
                ssize_t got;
                while ((got = recv(sl->fd, buf, sizeof(buf), 0)) > 0) {}
                if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                    st.cut++;
                    wb_crowd_drop(sl, now, &open);
                }
            }
        }
    }
    ssize_t w = write(ctl, &st, sizeof(st));
    (void)w;
    _exit(0);
}

typedef struct crowd_proc {
    pid_t pid;
    int ctl; /* our end of the socketpair */
} crowd_proc;

/* Forks the crowd, paused. 0, or -1. */
static int wb_crowd_start(const crowd_child_args *a, crowd_proc *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        wb_crowd_child(a, sv[1]);
    }
    close(sv[1]);
    p->ctl = sv[0];
    return 0;
}

static void wb_crowd_cmd(crowd_proc *p, char cmd)
{
    ssize_t w = write(p->ctl, &cmd, 1);
    (void)w; /* a crowd that died reports nothing at the end */
}

/* Stops the crowd and reaps it. 0 with *st filled, or -1. */
static int wb_crowd_stop(crowd_proc *p, wb_crowd_stats *st)
{
    wb_crowd_cmd(p, 'q');
    struct timeval tv = {10, 0};
    setsockopt(p->ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t got = read(p->ctl, st, sizeof(*st));
    if (got != (ssize_t)sizeof(*st)) kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    close(p->ctl);
    return got == (ssize_t)sizeof(*st) ? 0 : -1;
}

static void wb_crowd_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* One ping on the blocking connection fd (5 s at most): its round trip
 * in microseconds, or -1 when no pong came. */
static int64_t wb_crowd_ping(int fd, proto_reader *rd, uint32_t msgid)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_request_begin(&pk, msgid, "ping");
    msgpack_pack_array(&pk, 0);
    uint64_t t0 = wb_now_us();
    ssize_t sent = send(fd, sb.data, sb.size, MSG_NOSIGNAL);
    bool ok = sent == (ssize_t)sb.size;
    msgpack_sbuffer_destroy(&sb);
    while (ok) {
        proto_msg m;
        proto_error err;
        int rc = proto_reader_next(rd, &m, &err);
        if (rc < 0) break;
        if (rc > 0) {
            if (m.type != PROTO_MSG_RESPONSE || m.msgid != msgid) continue;
            if (m.error->type != MSGPACK_OBJECT_NIL) break;
            return (int64_t)(wb_now_us() - t0);
        }
        char buf[4096];
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0 || proto_reader_feed(rd, buf, (size_t)k) != (size_t)k)
            break;
    }
    return -1;
}

/* A block of o->pings round trips, a millisecond apart, into h. False
 * when a ping went unanswered (the rest are not made). */
static bool wb_crowd_ping_block(const wb_crowd_opts *o, int fd,
                                proto_reader *rd, uint32_t *msgid, wb_hist *h,
                                wb_crowd_result *res)
{
    for (int i = 0; i < o->pings; i++) {
        int64_t us = wb_crowd_ping(fd, rd, ++*msgid);
        if (us < 0) {
            res->ping_errors++;
            return false;
        }
        res->pings++;
        if (h != NULL) wb_hist_add(h, (uint64_t)us);
        wb_crowd_sleep_ms(1);
    }
    return true;
}

int wb_crowd_run(const wb_crowd_opts *o, wb_crowd_result *res)
{
    memset(res, 0, sizeof(*res));
    crowd_child_args a = {.connections = o->connections,
                          .think_ms = o->think_ms,
                          .seed = o->seed};
    if (o->connections < 1 || o->connections > CROWD_MAX ||
        o->think_ms < 1) {
        fprintf(stderr, "wishbench: crowd: 1..%d connections, think >= 1 "
                        "ms\n", CROWD_MAX);
        return -1;
    }
    a.sa.sin_family = AF_INET;
    a.sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &a.sa.sin_addr) != 1) {
        fprintf(stderr, "wishbench: crowd: --host must be an IPv4 "
                        "address\n");
        return -1;
    }
    int fd = -1;
    proto_reader *rd = NULL;
    if (o->pings > 0) {
        proto_limits lim;
        proto_limits_default(&lim);
        fd = wb_dial(o->host, o->port);
        rd = proto_reader_new(&lim);
        if (fd < 0 || rd == NULL) {
            fprintf(stderr, "wishbench: crowd: cannot connect to %s:%d\n",
                    o->host, o->port);
            if (fd >= 0) close(fd);
            proto_reader_free(rd);
            return -1;
        }
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    crowd_proc p;
    if (wb_crowd_start(&a, &p) != 0) {
        fprintf(stderr, "wishbench: crowd: fork: %s\n", strerror(errno));
        if (fd >= 0) close(fd);
        proto_reader_free(rd);
        return -1;
    }
    uint64_t t0 = wb_now_us();
    uint32_t msgid = 0;
    if (o->pings == 0) {
        wb_crowd_cmd(&p, 'r');
        wb_crowd_sleep_ms((int)(o->seconds * 1000));
    } else {
        /* One round a second of `seconds`: a quiet block, then the same
         * with the crowd running. */
        int rounds = o->seconds < 1 ? 1 : (int)lround(o->seconds);
        wb_crowd_opts warm = *o;
        warm.pings = CROWD_WARMUP;
        bool ok = wb_crowd_ping_block(&warm, fd, rd, &msgid, NULL, res);
        for (int r = 0; r < rounds && ok; r++) {
            ok = wb_crowd_ping_block(o, fd, rd, &msgid, &res->quiet, res);
            wb_crowd_cmd(&p, 'r');
            wb_crowd_sleep_ms(CROWD_SETTLE_MS);
            if (ok)
                ok = wb_crowd_ping_block(o, fd, rd, &msgid, &res->loaded, res);
            wb_crowd_cmd(&p, 'p');
            wb_crowd_sleep_ms(CROWD_PAUSE_MS);
            res->rounds++;
        }
    }
    int rc = wb_crowd_stop(&p, &res->crowd);
    res->seconds = (double)(wb_now_us() - t0) / 1e6;
    if (fd >= 0) close(fd);
    proto_reader_free(rd);
    if (rc != 0) fprintf(stderr, "wishbench: crowd: no counts from the "
                                 "crowd process\n");
    return rc;
}
