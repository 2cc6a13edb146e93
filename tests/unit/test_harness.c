/* test_harness.c -- self-test of the integration-test harness
 * (tests/lib/harness.h). Needs redis-server on PATH and /bin/sh, not
 * wishd: the wishd paths run a stand-in script (a redis-server under the
 * name wishd), and the client runs against a server played by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"

/* ========================================================================
 * Fixtures
 * ===================================================================== */

static int env_setup(void **state)
{
    th_env *env = th_start();
    if (!env) return -1;
    *state = env;
    return 0;
}

static int env_teardown(void **state)
{
    th_stop(*state);
    unsetenv("WISH_BIN");
    return 0;
}

/* True when no process has this pid any more (or it is a zombie of
 * someone else; ours are always reaped). */
static bool pid_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ========================================================================
 * Ports, files, environment
 * ===================================================================== */

static void test_free_port(void **state)
{
    int a = th_free_port(), b = th_free_port();
    assert_in_range(a, 1024, 65535);
    assert_in_range(b, 1024, 65535);
    /* It is free: we can bind it ourselves. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)a);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
}

static void test_env_dir_removed(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    char dir[TH_PATH_MAX], sub[TH_PATH_MAX], path[TH_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", th_dir(env));
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_true(dir[0] == '/');

    assert_int_equal(th_write_file(env, "a.conf", "x 1\n", 0640), 0);
    assert_int_equal(th_path(env, "a.conf", path, sizeof path), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_true(th_file_contains(path, "x 1"));
    assert_false(th_file_contains(path, "x 2"));
    assert_int_equal(th_path(env, "sub", sub, sizeof sub), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(th_write_file(env, "sub/deep", "y", 0400), 0);
    char small[8];
    assert_int_equal(th_path(env, "a.conf", small, sizeof small), -1);

    th_stop(env);
    assert_false(path_exists(dir));
}

static int deferred_calls;

static void count_call(void *arg)
{
    deferred_calls += *(int *)arg;
}

static void test_defer(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    int one = 1, ten = 10;
    deferred_calls = 0;
    assert_int_equal(th_defer(env, count_call, &one), 0);
    assert_int_equal(th_defer(env, count_call, &ten), 0);
    th_undefer(env, count_call, &ten);
    th_undefer(env, count_call, &ten); /* unknown: ignored */
    th_stop(env);
    assert_int_equal(deferred_calls, 1);
}

static void test_secret_file(void **state)
{
    th_env *env = *state;
    const char *path = th_secret_path(env);
    assert_non_null(path);
    assert_ptr_equal(th_secret_path(env), path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);

    size_t len = 0;
    const unsigned char *secret = th_secret(env, &len);
    assert_non_null(secret);
    assert_int_equal(len, 32);
    for (size_t i = 0; i < len; i++)
        assert_non_null(strchr("0123456789abcdef", secret[i]));
    char text[64];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(text, 1, sizeof text, f), 32);
    fclose(f);
    assert_memory_equal(text, secret, 32);

    /* The same reader wishd uses accepts it. */
    unsigned char read_back[TOKEN_SECRET_MAX];
    char why[128];
    assert_int_equal(
        token_read_secret(path, read_back, sizeof read_back, why, sizeof why),
        32);
}

static int poll_calls;

static int third_call(void *arg)
{
    return ++poll_calls >= 3;
}

static int never(void *arg)
{
    return 0;
}

static void test_poll_and_time(void **state)
{
    poll_calls = 0;
    assert_int_equal(th_poll(third_call, NULL, 1000, 1), TH_OK);
    assert_int_equal(poll_calls, 3);
    int64_t t0 = th_now_ms();
    assert_int_equal(th_poll(never, NULL, 60, 10), TH_TIMEOUT);
    int64_t took = th_now_ms() - t0;
    assert_in_range(took, 55, 1000);
    assert_int_equal(th_exit_code(0), 0);
    assert_int_equal(th_exit_code(3 << 8), 3);
    assert_int_equal(th_exit_code(SIGKILL), 137);
}

/* Runs th_log_tail() with stderr sent to a file; returns what it wrote
 * (static buffer). */
static const char *capture_tail(const char *path, int lines)
{
    static char out[8192];
    char cap[] = "/tmp/th-capture-XXXXXX";
    int fd = mkstemp(cap);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    th_log_tail(path, lines);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(cap);
    return out;
}

static void test_log_tail(void **state)
{
    th_env *env = *state;
    char text[2048] = "", path[TH_PATH_MAX];
    for (int i = 1; i <= 100; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "line %d\n",
                 i);
    assert_int_equal(th_write_file(env, "some.log", text, 0600), 0);
    th_path(env, "some.log", path, sizeof path);
    const char *out = capture_tail(path, 3);
    assert_non_null(strstr(out, "line 98\nline 99\nline 100\n"));
    assert_null(strstr(out, "line 97\n"));
    assert_non_null(strstr(out, "tail of"));

    assert_int_equal(th_write_file(env, "short.log", "only\nno newline", 0600),
                     0);
    th_path(env, "short.log", path, sizeof path);
    out = capture_tail(path, 40);
    assert_non_null(strstr(out, "only\nno newline\n"));

    th_path(env, "missing.log", path, sizeof path);
    out = capture_tail(path, 3);
    assert_non_null(strstr(out, "no log"));
}

/* ========================================================================
 * redis-server
 * ===================================================================== */

static void test_redis_commands(void **state)
{
    th_env *env = *state;
    int port = th_redis_port(env);
    assert_in_range(port, 1024, 65535);
    assert_int_equal(th_redis_port(env), port);
    assert_int_equal(th_redis_start(env), 0);
    pid_t pid = th_redis_pid(env);
    assert_true(pid > 0);
    assert_int_equal(th_redis_start(env), 0); /* already running */
    assert_int_equal(th_redis_pid(env), pid);

    char buf[64];
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "PING"), 0);
    assert_string_equal(buf, "PONG");
    assert_int_equal(
        th_redis_str(env, buf, sizeof buf, "SET %s %s", "k", "v 1"), 0);
    assert_string_equal(buf, "OK");
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "GET k"), 0);
    assert_string_equal(buf, "v 1");
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "GET nope"), 1);
    assert_string_equal(buf, "");
    assert_int_equal(th_redis_int(env, "DBSIZE"), 1);
    assert_int_equal(th_redis_int(env, "TTL k"), -1);
    assert_int_equal(th_redis_int(env, "GET k"), INT64_MIN);
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "NOSUCHCMD"), -1);
    assert_non_null(strstr(buf, "unknown command"));
    char tiny[2];
    assert_int_equal(th_redis_str(env, tiny, sizeof tiny, "GET k"), -1);

    redisReply *r = th_redis_cmd(env, "DEBUG SLEEP 0");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "FLUSHALL"), 0);
    assert_string_equal(buf, "OK");
    assert_int_equal(th_redis_int(env, "DBSIZE"), 0);

    /* The config file has what the brief promises. */
    char path[TH_PATH_MAX];
    th_path(env, "redis.conf", path, sizeof path);
    assert_true(th_file_contains(path, "bind 127.0.0.1\n"));
    assert_true(th_file_contains(path, "save \"\"\n"));
    assert_true(th_file_contains(path, "appendonly no\n"));
    assert_true(th_file_contains(path, "protected-mode no\n"));
    th_path(env, "redis.log", path, sizeof path);
    assert_true(path_exists(path));
    const char *sock = th_redis_socket(env);
    if (sock) {
        struct stat st;
        assert_int_equal(stat(sock, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
    }

    assert_int_equal(th_redis_stop(env), 0);
    assert_int_equal(th_redis_pid(env), 0);
    assert_true(pid_gone(pid));
    assert_null(th_redis_cmd(env, "PING"));
    assert_int_equal(th_redis_int(env, "DBSIZE"), INT64_MIN);
    assert_int_equal(th_redis_stop(env), 0); /* how it ended, again */
}

static void test_redis_restart_same_port(void **state)
{
    th_env *env = *state;
    assert_int_equal(th_redis_start(env), 0);
    int port = th_redis_port(env);
    pid_t first = th_redis_pid(env);
    assert_int_equal(th_redis_int(env, "SADD s a b c"), 3);

    assert_int_equal(th_redis_kill(env), 137);
    assert_true(pid_gone(first));
    assert_null(th_redis_cmd(env, "PING"));

    int64_t t0 = th_now_ms();
    assert_int_equal(th_redis_restart(env), 0);
    assert_true(th_now_ms() - t0 < TH_START_MS);
    assert_int_equal(th_redis_port(env), port);
    assert_true(th_redis_pid(env) > 0 && th_redis_pid(env) != first);
    assert_int_equal(th_redis_int(env, "DBSIZE"), 0); /* nothing kept */

    /* Restart while running: SIGTERM, then up again on the same port. */
    pid_t second = th_redis_pid(env);
    assert_int_equal(th_redis_restart(env), 0);
    assert_true(pid_gone(second));
    assert_int_equal(th_redis_port(env), port);
    char buf[16];
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "PING"), 0);
    assert_int_equal(th_redis_stop(env), 0);
}

/* A listening socket on 127.0.0.1:port, or -1. */
static int hold_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    return fd;
}

/* Another process took the picked port before redis-server bound it (as
 * a suite running beside this one may): the first start moves to
 * another port. Without that, this start fails. */
static void test_redis_port_taken_before_first_start(void **state)
{
    th_env *env = *state;
    int taken = th_redis_port(env);
    int fd = hold_port(taken);
    assert_int_equal(th_redis_start(env), 0);
    assert_true(th_redis_port(env) > 0 && th_redis_port(env) != taken);
    char buf[16];
    assert_int_equal(th_redis_str(env, buf, sizeof buf, "PING"), 0);
    close(fd);
}

/* Once redis-server has run on its port, tests count on that port: a
 * restart that cannot bind it fails, and fast. */
static void test_redis_start_fails_fast(void **state)
{
    th_env *env = *state;
    assert_int_equal(th_redis_start(env), 0);
    int port = th_redis_port(env);
    assert_int_equal(th_redis_stop(env), 0);
    int fd = hold_port(port);

    int64_t t0 = th_now_ms();
    assert_int_equal(th_redis_start(env), -1);
    assert_true(th_now_ms() - t0 < TH_START_MS / 2);
    assert_int_equal(th_redis_pid(env), 0);

    close(fd);
    assert_int_equal(th_redis_start(env), 0);
    assert_int_equal(th_redis_port(env), port);
}

static void test_stop_kills_everything(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    char dir[TH_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", th_dir(env));
    assert_int_equal(th_redis_start(env), 0);
    pid_t pid = th_redis_pid(env);
    th_conn *c = th_conn_open(env, th_redis_port(env), 1000);
    assert_non_null(c); /* left open on purpose: th_stop closes it */
    th_stop(env);
    assert_true(pid_gone(pid));
    assert_false(path_exists(dir));
}

/* A child process that starts redis and exits without th_stop(): the
 * atexit() safety net must kill redis and remove the dir. */
static void test_atexit_safety_net(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        th_env *env = th_start();
        if (!env || th_redis_start(env) < 0) _exit(2);
        char line[TH_PATH_MAX + 32];
        int n = snprintf(line, sizeof line, "%d %s\n", (int)th_redis_pid(env),
                         th_dir(env));
        if (write(fds[1], line, (size_t)n) != n) _exit(3);
        exit(0); /* runs th_cleanup_all() */
    }
    close(fds[1]);
    char line[TH_PATH_MAX + 32] = "";
    ssize_t n = 0, r;
    while ((r = read(fds[0], line + n, sizeof line - 1 - (size_t)n)) > 0)
        n += r;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_int_equal(th_exit_code(st), 0);
    line[n] = '\0';
    int pid = 0;
    char dir[TH_PATH_MAX];
    assert_int_equal(sscanf(line, "%d %511s", &pid, dir), 2);
    assert_true(pid > 0);
    assert_true(pid_gone(pid));
    assert_false(path_exists(dir));
}

/* ========================================================================
 * wishd, played by a script
 * ===================================================================== */

/* A wishd stand-in: logs its arguments, then serves the --port it was
 * given with a redis-server (which exits 0 on SIGTERM). */
static const char fake_wishd[] =
    "#!/bin/sh\n"
    "echo \"fake wishd args: $*\"\n"
    "port=\n"
    "while [ $# -gt 0 ]; do\n"
    "  if [ \"$1\" = --port ]; then port=$2; fi\n"
    "  shift\n"
    "done\n"
    "exec redis-server --port \"$port\" --bind 127.0.0.1 --save '' \\\n"
    "  --appendonly no --protected-mode no --logfile ''\n";

static const char broken_wishd[] = "#!/bin/sh\n"
                                   "echo 'boom: cannot start'\n"
                                   "exit 3\n";

/* Installs `script` as <dir>/bin/wishd and points WISH_BIN at it. */
static void install_wishd(th_env *env, const char *script)
{
    char bindir[TH_PATH_MAX];
    assert_int_equal(th_path(env, "bin", bindir, sizeof bindir), 0);
    mkdir(bindir, 0700);
    assert_int_equal(th_write_file(env, "bin/wishd", script, 0700), 0);
    assert_int_equal(setenv("WISH_BIN", bindir, 1), 0);
}

static void test_wishd_lifecycle(void **state)
{
    th_env *env = *state;
    install_wishd(env, fake_wishd);
    th_wishd *w = th_wishd_start(env, "--offer-ttl", "2", NULL);
    assert_non_null(w);
    int port = th_wishd_port(w);
    assert_in_range(port, 1024, 65535);
    assert_true(th_wishd_running(w));
    pid_t pid = th_wishd_pid(w);
    assert_true(pid > 0);

    char want[TH_PATH_MAX + 64];
    const char *log = th_wishd_log(w);
    snprintf(want, sizeof want,
             "--port %d --bind 127.0.0.1 --redis "
             "127.0.0.1:%d --secret-file %s --log-level debug "
             "--offer-ttl 2\n",
             port, th_redis_port(env), th_secret_path(env));
    assert_true(th_file_contains(log, want));

    th_conn *c = th_conn_open(env, port, 1000);
    assert_non_null(c);
    th_conn_close(c);
    assert_int_equal(th_wishd_signal(w, 0), 0);

    assert_int_equal(th_wishd_restart(w), 0);
    assert_int_equal(th_wishd_port(w), port);
    assert_true(pid_gone(pid));
    assert_true(th_wishd_pid(w) > 0 && th_wishd_pid(w) != pid);

    pid = th_wishd_pid(w);
    assert_int_equal(th_wishd_stop(w), 0);
    assert_false(th_wishd_running(w));
    assert_int_equal(th_wishd_pid(w), 0);
    assert_true(pid_gone(pid));
    assert_int_equal(th_wishd_stop(w), 0); /* how it ended, again */
    assert_int_equal(th_wishd_signal(w, SIGHUP), -1);

    /* A second one beside a restarted first, then SIGKILL. */
    assert_int_equal(th_wishd_restart(w), 0);
    th_wishd *w2 = th_wishd_startv(env, NULL);
    assert_non_null(w2);
    assert_int_not_equal(th_wishd_port(w2), port);
    assert_int_equal(th_wishd_kill(w2), 137);
    /* w is left running: the teardown's th_stop() ends it. */
}

static void test_wishd_start_fails_fast(void **state)
{
    th_env *env = *state;
    install_wishd(env, broken_wishd);
    int64_t t0 = th_now_ms();
    assert_null(th_wishd_start(env, NULL));
    assert_true(th_now_ms() - t0 < TH_START_MS / 2);

    setenv("WISH_BIN", "/nonexistent/dir", 1);
    assert_null(th_wishd_start(env, NULL));
}

/* ========================================================================
 * Tokens
 * ===================================================================== */

static void test_token(void **state)
{
    th_env *env = *state;
    char tok[TOKEN_MAX];
    assert_int_equal(th_token(env, "vol-1", ROLE_VOLUNTEER, "jinan/lixia", 600,
                              tok, sizeof tok),
                     0);
    size_t len;
    const unsigned char *secret = th_secret(env, &len);
    token_claims cl;
    const char *why = NULL;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(
        token_verify(secret, len, tok, strlen(tok), now, 5, &cl, &why), 0);
    assert_string_equal(cl.user, "vol-1");
    assert_int_equal(cl.role, ROLE_VOLUNTEER);
    assert_string_equal(cl.region, "jinan/lixia");
    assert_int_equal(cl.expires - cl.issued, 600);

    assert_int_equal(
        th_token(env, "res-1", ROLE_RESIDENT, "jinan", -30, tok, sizeof tok),
        0);
    assert_int_equal(
        token_verify(secret, len, tok, strlen(tok), now, 5, &cl, &why), -1);
    assert_non_null(why);

    assert_int_equal(
        th_token(env, "x", ROLE_ADMIN, "Not A Region", 60, tok, sizeof tok),
        -1);
}

/* ========================================================================
 * Connections, against a server played by the test
 * ===================================================================== */

/* Bytes packed with `pk` into `sb`. */
typedef struct packbuf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} packbuf;

static void packbuf_init(packbuf *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

/* A server played by the test: a listening socket, the accepted end of
 * the harness connection `c`, what the server says (packed into `out`)
 * and a reader for what it hears. */
typedef struct fake {
    int lfd, port, sfd;
    th_conn *c;
    packbuf out;
    proto_reader *r;
} fake;

/* Connects a new th_conn to the fake server and accepts it. */
static void fake_connect(th_env *env, fake *f)
{
    f->c = th_conn_open(env, f->port, 1000);
    assert_non_null(f->c);
    f->sfd = accept(f->lfd, NULL, NULL);
    assert_true(f->sfd >= 0);
}

/* Listens on a free port and connects to it. */
static void fake_open(th_env *env, fake *f)
{
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    packbuf_init(&f->out);
    f->r = proto_reader_new(NULL);
    assert_non_null(f->r);
    fake_connect(env, f);
}

/* Closes both ends of the current connection (not the listener). */
static void fake_hang_up(fake *f)
{
    if (f->sfd >= 0) close(f->sfd);
    f->sfd = -1;
    th_conn_close(f->c);
    f->c = NULL;
}

static void fake_close(fake *f)
{
    fake_hang_up(f);
    if (f->lfd >= 0) close(f->lfd);
    msgpack_sbuffer_destroy(&f->out.sb);
    proto_reader_free(f->r);
}

/* Writes what was packed into f->out.pk to the harness. */
static void fake_say(fake *f)
{
    assert_int_equal(write(f->sfd, f->out.sb.data, f->out.sb.size),
                     (ssize_t)f->out.sb.size);
    msgpack_sbuffer_clear(&f->out.sb);
}

/* Reads until the server side's reader yields a message. */
static void fake_hear(fake *f, proto_msg *m)
{
    proto_error err;
    for (int i = 0; i < 100; i++) {
        int rc = proto_reader_next(f->r, m, &err);
        assert_true(rc >= 0);
        if (rc == 1) return;
        char buf[4096];
        ssize_t n = read(f->sfd, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(proto_reader_feed(f->r, buf, (size_t)n), (size_t)n);
    }
    fail_msg("no message");
}

static void pack_task_params(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 1);
    th_kv_str(pk, "task_id", arg);
}

static void test_conn_responses_and_queue(void **state)
{
    fake f;
    fake_open(*state, &f);
    th_conn *c = f.c;
    msgpack_packer *pk = &f.out.pk;

    /* Out of order, with notifications between. */
    proto_pack_event_begin(pk, "1-0", "offer", 5, 1);
    th_kv_str(pk, "offer_id", "of1");
    proto_pack_result_begin(pk, 2);
    proto_pack_cstr(pk, "two");
    proto_pack_error_response(pk, 1, PROTO_NOT_FOUND, "no such task");
    proto_pack_notify_begin(pk, "x");
    msgpack_pack_array(pk, 0);
    fake_say(&f);

    proto_msg m;
    assert_int_equal(th_wait_response(c, 1, TH_QUEUE, &m, 1000), TH_OK);
    assert_int_equal(m.type, PROTO_MSG_RESPONSE);
    assert_int_equal(th_error_code(&m), PROTO_NOT_FOUND);
    char text[64];
    assert_int_equal(th_error_message(&m, text, sizeof text), 0);
    assert_string_equal(text, "no such task");
    assert_false(th_result_is_str(&m, "two"));
    assert_int_equal(th_queued(c), 2);

    assert_int_equal(th_wait_response(c, 2, TH_QUEUE, &m, 1000), TH_OK);
    assert_int_equal(th_error_code(&m), 0);
    assert_true(th_result_is_str(&m, "two"));
    assert_int_equal(th_error_message(&m, text, sizeof text), -1);

    const msgpack_object *ev = NULL;
    assert_int_equal(th_wait_event(c, "offer", &m, &ev, 1000), TH_OK);
    assert_non_null(ev);
    assert_int_equal(th_field_str(ev, "id", text, sizeof text), 0);
    assert_string_equal(text, "1-0");
    assert_int_equal(th_field_str(ev, "offer_id", text, sizeof text), 0);
    assert_string_equal(text, "of1");
    int64_t at;
    assert_int_equal(th_field_int(ev, "at", &at), 0);
    assert_int_equal(at, 5);
    assert_int_equal(th_queued(c), 0);

    assert_int_equal(th_wait_notify(c, "x", &m, 1000), TH_OK);
    assert_int_equal(m.type, PROTO_MSG_NOTIFY);
    assert_null(th_event_of(&m));
    assert_int_equal(th_error_code(&m), -1);

    int64_t t0 = th_now_ms();
    assert_int_equal(th_recv(c, &m, 50), TH_TIMEOUT);
    assert_in_range(th_now_ms() - t0, 45, 1000);
    assert_int_equal(th_recv(c, &m, 0), TH_TIMEOUT);

    /* TH_SKIP drops the notifications read while waiting. */
    proto_pack_notify_begin(pk, "y");
    msgpack_pack_array(pk, 0);
    proto_pack_result_begin(pk, 50);
    msgpack_pack_true(pk);
    fake_say(&f);
    assert_int_equal(th_wait_response(c, 50, TH_SKIP, &m, 1000), TH_OK);
    assert_true(th_result_is_bool(&m, true));
    assert_false(th_result_is_bool(&m, false));
    assert_int_equal(th_queued(c), 0);

    /* Responses queued while waiting for an event are kept; clear drops. */
    proto_pack_result_begin(pk, 60);
    msgpack_pack_nil(pk);
    proto_pack_event_begin(pk, "2-0", "assigned", 6, 0);
    fake_say(&f);
    assert_int_equal(th_wait_event(c, NULL, &m, &ev, 1000), TH_OK);
    assert_int_equal(th_field_str(ev, "type", text, sizeof text), 0);
    assert_string_equal(text, "assigned");
    assert_int_equal(th_queued(c), 1);
    th_queue_clear(c);
    assert_int_equal(th_queued(c), 0);
    fake_close(&f);
}

static void test_conn_requests(void **state)
{
    fake f;
    fake_open(*state, &f);
    th_conn *c = f.c;
    proto_msg m;
    proto_error err;
    const msgpack_object *map;
    char text[64];

    /* Pipelined: two requests, one flush. */
    uint32_t a = th_req_begin(c, "task.get", 1);
    th_kv_str(th_pk(c), "task_id", "t1");
    uint32_t b = th_req_begin(c, "volunteer.update", 5);
    th_kv_int(th_pk(c), "radius", 800);
    th_kv_double(th_pk(c), "lon", 117.0);
    th_kv_bool(th_pk(c), "available", true);
    th_kv_nil(th_pk(c), "note");
    th_kv_str(th_pk(c), "name", "Li");
    assert_int_not_equal(a, b);
    assert_int_equal(th_flush(c), TH_OK);

    fake_hear(&f, &m);
    assert_int_equal(m.type, PROTO_MSG_REQUEST);
    assert_int_equal(m.msgid, a);
    assert_memory_equal(m.method, "task.get", 8);
    assert_int_equal(proto_params_map(&m, &map, &err), 0);
    assert_int_equal(
        proto_get_strbuf(map, "task_id", true, 1, text, sizeof text, &err), 0);
    assert_string_equal(text, "t1");
    fake_hear(&f, &m);
    assert_int_equal(m.msgid, b);
    assert_int_equal(proto_params_map(&m, &map, &err), 0);
    int64_t radius;
    bool avail;
    assert_int_equal(
        proto_get_int(map, "radius", true, 0, 100000, &radius, &err), 0);
    assert_int_equal(radius, 800);
    assert_int_equal(proto_get_bool(map, "available", true, &avail, &err), 0);
    assert_true(avail);

    /* Simple and callback requests. */
    assert_int_equal(th_send_simple(c, 77, "ping"), TH_OK);
    fake_hear(&f, &m);
    assert_int_equal(m.msgid, 77);
    assert_int_equal(m.params->via.array.size, 0);
    assert_int_equal(th_send_request(c, 78, "task.get", pack_task_params, "t9"),
                     TH_OK);
    fake_hear(&f, &m);
    assert_int_equal(m.msgid, 78);
    assert_int_equal(proto_params_map(&m, &map, &err), 0);
    assert_true(proto_obj_equals(proto_map_get(map, "task_id"), "t9"));

    /* th_call: the answer is already on its way when it asks. */
    uint32_t next = b + 1;
    proto_pack_result_begin(&f.out.pk, next);
    proto_pack_cstr(&f.out.pk, "pong");
    fake_say(&f);
    assert_int_equal(th_call_simple(c, "ping", &m), TH_OK);
    assert_true(th_result_is_str(&m, "pong"));
    fake_hear(&f, &m);
    assert_int_equal(m.msgid, next);

    proto_pack_result_begin(&f.out.pk, next + 1);
    msgpack_pack_map(&f.out.pk, 1);
    th_kv_str(&f.out.pk, "user", "u1");
    fake_say(&f);
    assert_int_equal(th_hello(c, "tok", &m), TH_OK);
    assert_int_equal(th_field_str(m.result, "user", text, sizeof text), 0);
    fake_hear(&f, &m);
    assert_memory_equal(m.method, "hello", 5);
    assert_int_equal(proto_params_map(&m, &map, &err), 0);
    assert_true(proto_obj_equals(proto_map_get(map, "token"), "tok"));

    proto_pack_error_response(&f.out.pk, next + 2, PROTO_UNAUTHENTICATED,
                              "bad token");
    fake_say(&f);
    assert_int_equal(th_hello(c, "bad", NULL), TH_ERR);
    fake_hear(&f, &m);

    /* Raw bytes go out as they are. */
    assert_int_equal(th_send(c, "GET / HTTP/1.0\r\n", 16), TH_OK);
    char raw[32];
    assert_int_equal(read(f.sfd, raw, sizeof raw), 16);
    assert_memory_equal(raw, "GET /", 5);

    /* Nobody answers: th_call times out at the connection's deadline. */
    th_conn_set_timeout(c, 100);
    int64_t t0 = th_now_ms();
    assert_int_equal(th_call(c, "task.get", pack_task_params, "t2", &m),
                     TH_TIMEOUT);
    assert_in_range(th_now_ms() - t0, 90, 2000);
    fake_close(&f);
}

static void test_conn_close_detection(void **state)
{
    th_env *env = *state;
    fake f;
    fake_open(env, &f);
    proto_msg m;

    /* Error notification, then close: queued, then TH_CLOSED. */
    proto_pack_error_notify(&f.out.pk, PROTO_BAD_REQUEST, "not a message");
    fake_say(&f);
    close(f.sfd);
    f.sfd = -1;
    int took = th_wait_closed(f.c, 2000);
    assert_in_range(took, 0, 1000);
    assert_int_equal(th_queued(f.c), 1);
    assert_int_equal(th_wait_notify(f.c, "error", &m, 100), TH_OK);
    assert_int_equal(th_recv(f.c, &m, 100), TH_CLOSED);
    assert_int_equal(th_wait_closed(f.c, 100), 0);
    /* Writing to it ends in TH_CLOSED (the first write may still pass). */
    int rc = TH_OK;
    for (int i = 0; i < 50 && rc == TH_OK; i++) {
        rc = th_send(f.c, "x", 1);
        if (rc == TH_OK) th_sleep_ms(5);
    }
    assert_int_equal(rc, TH_CLOSED);
    fake_hang_up(&f);

    /* Open and silent: TH_TIMEOUT near the deadline. */
    fake_connect(env, &f);
    int64_t t0 = th_now_ms();
    assert_int_equal(th_wait_closed(f.c, 80), TH_TIMEOUT);
    assert_in_range(th_now_ms() - t0, 75, 1000);

    /* Garbage, then close after a pause: TH_ERR for reads, close seen. */
    assert_int_equal(write(f.sfd, "HTTP/1.1 400 Bad\r\n", 18), 18);
    assert_int_equal(th_recv(f.c, &m, 500), TH_ERR);
    shutdown(f.sfd, SHUT_WR);
    assert_in_range(th_wait_closed(f.c, 1000), 0, 900);
    fake_hang_up(&f);

    /* Reset by the peer counts as closed. */
    fake_connect(env, &f);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(f.sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(f.sfd);
    f.sfd = -1;
    assert_in_range(th_wait_closed(f.c, 1000), 0, 900);
    fake_hang_up(&f);

    /* Nothing listening: th_conn_open fails at once. */
    int port = f.port;
    fake_close(&f);
    assert_null(th_conn_open(env, port, 500));
}

/* ========================================================================
 * Inspecting messages
 * ===================================================================== */

static void test_inspect(void **state)
{
    packbuf o;
    packbuf_init(&o);
    proto_pack_result_begin(&o.pk, 7);
    msgpack_pack_map(&o.pk, 3);
    proto_pack_cstr(&o.pk, "task");
    msgpack_pack_map(&o.pk, 3);
    th_kv_str(&o.pk, "region", "jinan/lixia");
    th_kv_int(&o.pk, "n", -3);
    th_kv_double(&o.pk, "f", 2.5);
    proto_pack_cstr(&o.pk, "tasks");
    msgpack_pack_array(&o.pk, 2);
    msgpack_pack_map(&o.pk, 1);
    th_kv_str(&o.pk, "task_id", "a");
    msgpack_pack_map(&o.pk, 2);
    th_kv_str(&o.pk, "task_id", "b");
    th_kv_nil(&o.pk, "note");
    th_kv_double(&o.pk, "whole", 4.0);

    proto_reader *r = proto_reader_new(NULL);
    assert_non_null(r);
    assert_int_equal(proto_reader_feed(r, o.sb.data, o.sb.size), o.sb.size);
    proto_msg m;
    proto_error err;
    assert_int_equal(proto_reader_next(r, &m, &err), 1);

    assert_int_equal(th_error_code(&m), 0);
    char text[32];
    int64_t i;
    double d;
    assert_int_equal(th_field_str(m.result, "task.region", text, sizeof text),
                     0);
    assert_string_equal(text, "jinan/lixia");
    assert_int_equal(th_field_int(m.result, "task.n", &i), 0);
    assert_int_equal(i, -3);
    assert_int_equal(th_field_int(m.result, "task.f", &i), -1);
    assert_int_equal(th_obj_double(th_result_field(&m, "task.f"), &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(th_field_int(m.result, "whole", &i), 0);
    assert_int_equal(i, 4);
    assert_int_equal(
        th_field_str(m.result, "tasks.1.task_id", text, sizeof text), 0);
    assert_string_equal(text, "b");
    assert_non_null(th_result_field(&m, "tasks.0"));
    assert_null(th_result_field(&m, "tasks.2"));
    assert_null(th_result_field(&m, "tasks.x"));
    assert_null(th_result_field(&m, "tasks.1.note")); /* nil is absent */
    assert_null(th_result_field(&m, "task.region.deeper"));
    assert_null(th_result_field(&m, "nope"));
    assert_ptr_equal(th_result_field(&m, ""), m.result);
    char tiny[4];
    assert_int_equal(th_field_str(m.result, "task.region", tiny, sizeof tiny),
                     -1);
    assert_int_equal(th_field_str(m.result, "task.n", text, sizeof text), -1);
    assert_false(th_result_is_str(&m, "pong"));
    assert_null(th_event_of(&m));

    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    th_msg_print(devnull, &m);
    fclose(devnull);

    proto_reader_free(r);
    msgpack_sbuffer_destroy(&o.sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_port),
        cmocka_unit_test(test_env_dir_removed),
        cmocka_unit_test(test_defer),
        cmocka_unit_test_setup_teardown(test_secret_file, env_setup,
                                        env_teardown),
        cmocka_unit_test(test_poll_and_time),
        cmocka_unit_test_setup_teardown(test_log_tail, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_redis_commands, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_same_port, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_redis_port_taken_before_first_start,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_redis_start_fails_fast, env_setup,
                                        env_teardown),
        cmocka_unit_test(test_stop_kills_everything),
        cmocka_unit_test(test_atexit_safety_net),
        cmocka_unit_test_setup_teardown(test_wishd_lifecycle, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wishd_start_fails_fast, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_token, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_conn_responses_and_queue,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_conn_requests, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_conn_close_detection, env_setup,
                                        env_teardown),
        cmocka_unit_test(test_inspect),
    };
    return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
