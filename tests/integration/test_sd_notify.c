/* test_sd_notify.c -- wishd speaks systemd's notify protocol (sd_notify(3),
 * server/svcnotify.h) to whatever listens on NOTIFY_SOCKET: READY=1 once
 * it listens (whether Redis is there or not), WATCHDOG=1 every half
 * WATCHDOG_USEC from its loop, STATUS= lines as its state changes, and
 * STOPPING=1 when SIGTERM starts the drain. The test plays the manager:
 * a unix datagram socket in the env's temp dir, SO_PASSCRED on it so
 * each datagram's sender is checked to be wishd itself (what systemd's
 * NotifyAccess=main demands).
 *
 * The harness starts wishd with the test's environment, so the variables
 * are set around th_wishd_start() and removed again at once: redis, and
 * wishd processes of other tests, never see them. wishd reads the
 * example config the unit's users start from (server/dist/
 * wishd.conf.example, found from the top of the tree as make runs the
 * tests, or under $WISH_SRC), so a line in it that wishd would refuse
 * fails here; the harness's flags win over it. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define WATCHDOG_USEC 400000 /* wishd pings every 200 ms */
#define WATCH_MS 1600        /* how long pings are counted */
#define LINES_MAX 512
#define EXAMPLE_CONF "server/dist/wishd.conf.example"

/* Every line the "manager" received, with when and from whom. */
typedef struct notified {
    int fd;
    char path[TH_PATH_MAX];
    int n;
    char line[LINES_MAX][160];
    int64_t at_ms[LINES_MAX];
    pid_t from[LINES_MAX];
} notified;

/* Binds a datagram socket at <dir>/notify with SO_PASSCRED into nt. */
static void notify_listen(th_env *env, notified *nt)
{
    memset(nt, 0, sizeof(*nt));
    assert_int_equal(th_path(env, "notify", nt->path, sizeof(nt->path)), 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(nt->path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, nt->path);
    nt->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(nt->fd >= 0);
    int one = 1;
    assert_int_equal(
        setsockopt(nt->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    assert_int_equal(bind(nt->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* Reads the datagrams that arrive within timeout_ms into nt's lines, and
 * returns as soon as a line starting with `want` is read (the index of
 * that line), or -1 at the deadline. want NULL: read until the deadline. */
static int notify_read(notified *nt, const char *want, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0) return -1;
        struct pollfd p = {.fd = nt->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        assert_true(r >= 0);
        if (r == 0) return -1;

        char buf[4096];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {buf, sizeof(buf) - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = &ctl,
                            .msg_controllen = sizeof(ctl)};
        ssize_t len = recvmsg(nt->fd, &mh, 0);
        assert_true(len >= 0);
        buf[len] = '\0';
        pid_t from = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET &&
                c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                from = cred.pid;
            }
        int found = -1;
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            assert_true(nt->n < LINES_MAX);
            snprintf(nt->line[nt->n], sizeof(nt->line[0]), "%s", l);
            nt->at_ms[nt->n] = th_now_ms();
            nt->from[nt->n] = from;
            if (found < 0 && want && strncmp(l, want, strlen(want)) == 0)
                found = nt->n;
            nt->n++;
        }
        if (found >= 0) return found;
    }
}

/* Lines from index `from` on that start with `prefix`. */
static int notify_count(const notified *nt, int from, const char *prefix)
{
    int k = 0;
    for (int i = from; i < nt->n; i++)
        if (strncmp(nt->line[i], prefix, strlen(prefix)) == 0) k++;
    return k;
}

static void notify_print(const notified *nt)
{
    for (int i = 0; i < nt->n; i++)
        fprintf(stderr, "  notify %lld ms, pid %d: %s\n",
                (long long)(nt->at_ms[i] - nt->at_ms[0]), (int)nt->from[i],
                nt->line[i]);
}

/* Starts a wishd with the example config, told to notify nt, with
 * WATCHDOG_USEC watchdog_usec (0: not set) and WATCHDOG_PID watchdog_pid
 * (0: not set). */
static th_wishd *start_notified(th_env *env, notified *nt, long watchdog_usec,
                                pid_t watchdog_pid)
{
    char v[32];
    assert_int_equal(setenv("NOTIFY_SOCKET", nt->path, 1), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (watchdog_usec) {
        snprintf(v, sizeof(v), "%ld", watchdog_usec);
        setenv("WATCHDOG_USEC", v, 1);
    }
    if (watchdog_pid) {
        snprintf(v, sizeof(v), "%d", (int)watchdog_pid);
        setenv("WATCHDOG_PID", v, 1);
    }
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    char conf[TH_PATH_MAX];
    snprintf(conf, sizeof(conf), "%s/%s", src, EXAMPLE_CONF);
    if (access(conf, R_OK) != 0)
        fail_msg("%s: %s (run from the top of the tree or set WISH_SRC)", conf,
                 strerror(errno));
    th_wishd *w = th_wishd_start(env, "--config", conf, "--redis-backoff-max",
                                 "100", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_non_null(w);
    return w;
}

/* READY=1, pings at the asked pace from wishd's own pid, a STATUS line
 * that tells the connections and Redis, and STOPPING=1 on SIGTERM with a
 * clean exit after it. */
static void test_ready_watchdog_stopping(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    notified *nt = malloc(sizeof(*nt));
    assert_non_null(nt);
    notify_listen(env, nt);
    assert_int_equal(th_redis_start(env), 0);
    th_wishd *w = start_notified(env, nt, WATCHDOG_USEC, 0);
    pid_t pid = th_wishd_pid(w);

    int ready = notify_read(nt, "READY=1", TH_START_MS);
    if (ready < 0) notify_print(nt);
    assert_true(ready >= 0);
    assert_int_equal(nt->from[ready], pid);
    /* Redis was up: the READY datagram's status says so. */
    assert_true(ready + 1 < nt->n);
    assert_non_null(strstr(nt->line[ready + 1], "STATUS=listening on port"));
    assert_non_null(strstr(nt->line[ready + 1], "redis up"));

    /* A client, so that the drain has something to say. */
    th_conn *c = th_conn_open(env, th_wishd_port(w), 2000);
    assert_non_null(c);

    int from = nt->n;
    notify_read(nt, NULL, WATCH_MS);
    int pings = notify_count(nt, from, "WATCHDOG=1");
    /* 200 ms apart over 1.6 s: about 8; well under half of them would
     * mean a missed period somewhere. */
    if (pings < 4) notify_print(nt);
    assert_true(pings >= 4);
    int64_t last = -1, gap_max = 0;
    for (int i = from; i < nt->n; i++) {
        assert_int_equal(nt->from[i], pid);
        if (strcmp(nt->line[i], "WATCHDOG=1") != 0) continue;
        if (last >= 0 && nt->at_ms[i] - last > gap_max)
            gap_max = nt->at_ms[i] - last;
        last = nt->at_ms[i];
    }
    /* Never as late as the period itself: systemd would have killed it. */
    if (gap_max >= WATCHDOG_USEC / 1000) notify_print(nt);
    assert_true(gap_max < WATCHDOG_USEC / 1000);
    /* The status, once it changes from the READY one, tells the client. */
    bool serving = false;
    for (int i = ready; i < nt->n; i++)
        if (strcmp(nt->line[i], "STATUS=serving 1 connection; redis up") == 0)
            serving = true;
    if (!serving) notify_print(nt);
    assert_true(serving);

    assert_int_equal(th_wishd_signal(w, SIGTERM), 0);
    int stopping = notify_read(nt, "STOPPING=1", 5000);
    if (stopping < 0) notify_print(nt);
    assert_true(stopping >= 0);
    assert_int_equal(nt->from[stopping], pid);
    assert_non_null(strstr(nt->line[stopping + 1], "STATUS=draining"));
    th_conn_close(c);
    assert_int_equal(th_wishd_stop(w), 0);
    close(nt->fd);
    free(nt);
    th_stop(env);
}

/* WATCHDOG_PID naming another process (sd_watchdog_enabled(3)): the
 * watchdog is not this wishd's, so it must not ping; READY still comes. */
static void test_watchdog_of_another_pid(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    notified *nt = malloc(sizeof(*nt));
    assert_non_null(nt);
    notify_listen(env, nt);
    assert_int_equal(th_redis_start(env), 0);
    th_wishd *w = start_notified(env, nt, WATCHDOG_USEC, getpid());

    assert_true(notify_read(nt, "READY=1", TH_START_MS) >= 0);
    notify_read(nt, NULL, 1000);
    if (notify_count(nt, 0, "WATCHDOG=1") != 0) notify_print(nt);
    assert_int_equal(notify_count(nt, 0, "WATCHDOG=1"), 0);
    assert_int_equal(th_wishd_stop(w), 0);
    close(nt->fd);
    free(nt);
    th_stop(env);
}

/* Redis down at start: wishd is READY all the same (it serves, answering
 * UNAVAILABLE, and a restart would not help), says so in its status, and
 * says so again when Redis comes. */
static void test_ready_without_redis(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    notified *nt = malloc(sizeof(*nt));
    assert_non_null(nt);
    notify_listen(env, nt);
    th_wishd *w = start_notified(env, nt, WATCHDOG_USEC, 0);

    int ready = notify_read(nt, "READY=1", TH_START_MS);
    assert_true(ready >= 0);
    assert_non_null(strstr(nt->line[ready + 1], "redis not reachable yet"));
    assert_true(notify_read(nt,
                            "STATUS=serving 0 connections; redis "
                            "unreachable",
                            2000) >= 0);
    assert_true(notify_count(nt, 0, "WATCHDOG=1") > 0);

    assert_int_equal(th_redis_start(env), 0);
    int up = notify_read(nt, "STATUS=serving 0 connections; redis up", 5000);
    if (up < 0) notify_print(nt);
    assert_true(up >= 0);
    assert_int_equal(th_wishd_stop(w), 0);
    close(nt->fd);
    free(nt);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_watchdog_stopping),
        cmocka_unit_test(test_watchdog_of_another_pid),
        cmocka_unit_test(test_ready_without_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
