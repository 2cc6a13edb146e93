/* harness.c -- environments, child processes, redis-server and wishd for
 * the integration tests (see harness.h for the contracts).
 *
 * The only mutable globals are the list of live environments and the flag
 * saying th_cleanup_all() is registered with atexit(): the safety net
 * needs them, and tests run in one thread.
 */
#include "tests/lib/harness.h"
#include "tests/lib/harness_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_WISHD_MAX 16
#define TH_POLL_STEP_MS 5   /* waiting for a process to exit */
#define TH_READY_STEP_MS 10 /* waiting for a process to listen */
#define TH_TAIL_LINES 40
#define TH_SECRET_BYTES 16 /* 32 hex chars */

/* A child process and where its output goes. */
typedef struct th_proc {
    pid_t pid; /* 0 when not running */
    int code;  /* th_exit_code() of the last run, -1 if none */
    bool ran;  /* started at least once */
    char log[TH_PATH_MAX];
} th_proc;

struct th_wishd {
    th_env *env;
    th_proc proc;
    int port;
    int index;    /* 1.. within the env */
    char **extra; /* NULL-terminated copies of the extra arguments */
};

/* A redis.conf directive set with th_redis_set_option(). */
typedef struct th_redis_opt {
    char name[64];
    char value[TH_PATH_MAX];
} th_redis_opt;

typedef struct th_deferred {
    void (*fn)(void *arg);
    void *arg;
    struct th_deferred *next;
} th_deferred;

struct th_env {
    char dir[TH_PATH_MAX];
    char secret_path[TH_PATH_MAX]; /* "" until written */
    unsigned char secret[2 * TH_SECRET_BYTES + 1];
    size_t secret_len;
    int redis_port;               /* 0 until picked */
    bool redis_port_kept;         /* redis-server has run on it: kept */
    char redis_sock[TH_PATH_MAX]; /* "" when the path is too long */
    th_proc redis;
    th_redis_opt redis_opts[TH_REDIS_OPTS_MAX];
    int nredis_opts;
    th_wishd *wishd[TH_WISHD_MAX];
    int nwishd;
    char cluster_seeds[TH_PATH_MAX]; /* "": wishd get --redis */
    th_deferred *deferred; /* newest first */
    th_env *next_live;
};

static th_env *th_live;    /* envs not yet stopped */
static bool th_atexit_set; /* th_cleanup_all() registered */

/* ========================================================================
 * Time, logging, small utilities
 * ===================================================================== */

int64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(int ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

void th_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

int th_poll(int (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    if (interval_ms < 1) interval_ms = 1;
    for (;;) {
        if (cond(arg)) return TH_OK;
        int64_t left = deadline - th_now_ms();
        if (left <= 0) return TH_TIMEOUT;
        th_sleep_ms(left < interval_ms ? (int)left : interval_ms);
    }
}

int th_exit_code(int wstatus)
{
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return -1;
}

/* ========================================================================
 * Files and ports
 * ===================================================================== */

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        th_log("free port: socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        th_log("free port: bind: %s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Tries one TCP connection to 127.0.0.1:port. Returns true when it was
 * accepted (loopback connects complete or fail at once). */
static bool tcp_probe(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

void th_log_tail(const char *path, int lines)
{
    enum { TAIL_MAX = 16384 };
    char buf[TAIL_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        th_log("no log %s: %s", path, strerror(errno));
        return;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > TAIL_MAX ? size - TAIL_MAX : 0;
    ssize_t n = pread(fd, buf, TAIL_MAX, from);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = '\0';
    /* Walk back over `lines` newlines, ignoring a final one. */
    ssize_t start = n;
    if (start > 0 && buf[start - 1] == '\n') start--;
    int seen = 0;
    while (start > 0) {
        if (buf[start - 1] == '\n' && ++seen == lines) break;
        start--;
    }
    fprintf(stderr, "---- tail of %s ----\n%s%s---- end of %s ----\n", path,
            buf + start, n > 0 && buf[n - 1] != '\n' ? "\n" : "", path);
    fflush(stderr);
}

bool th_file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rbe");
    if (!f) return false;
    bool found = false;
    size_t cap = 0, len = 0;
    char *data = NULL;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(data, cap);
            if (!p) goto out;
            data = p;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        if (n == 0) break;
        len += n;
    }
    found = memmem(data, len, needle, strlen(needle)) != NULL;
out:
    free(data);
    fclose(f);
    return found;
}

bool th_file_wait_contains(const char *path, const char *needle, int timeout_ms)
{
    int64_t end = th_now_ms() + timeout_ms;
    while (!th_file_contains(path, needle)) {
        if (th_now_ms() > end) return false;
        th_sleep_ms(20);
    }
    return true;
}

/* nftw callback of rm_tree(): removes each entry after its children. */
static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    if (remove(path) < 0 && errno != ENOENT)
        th_log("remove %s: %s", path, strerror(errno));
    return 0;
}

/* Removes the tree at path, not following symlinks. */
static void rm_tree(const char *path)
{
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        th_log("remove %s: %s", path, strerror(errno));
}

/* ========================================================================
 * Child processes
 * ===================================================================== */

/* Starts argv[0] (searched in PATH) with stdin from /dev/null and
 * stdout/stderr appended to p->log. The child dies with this process
 * (PR_SET_PDEATHSIG). Returns 0, or -1 with the reason logged. */
static int proc_spawn(th_proc *p, char *const argv[])
{
    int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        th_log("open %s: %s", p->log, strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        th_log("fork: %s", strerror(errno));
        close(fd);
        if (devnull >= 0) close(devnull);
        return -1;
    }
    if (pid == 0)
        th_exec_child(parent, devnull, fd, fd, (const char *const *)argv,
                      environ);
    close(fd);
    if (devnull >= 0) close(devnull);
    p->pid = pid;
    p->code = -1;
    p->ran = true;
    return 0;
}

bool th_reap(pid_t *pid, int *code, bool block, int on_error)
{
    if (*pid == 0) return true;
    int st;
    pid_t r;
    do
        r = waitpid(*pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r < 0) {
        th_log("waitpid %d: %s", (int)*pid, strerror(errno));
        *code = on_error;
    } else {
        *code = th_exit_code(st);
    }
    *pid = 0;
    return true;
}

/* Reaps p if it has exited (blocking when `block`). Returns true when it
 * is no longer running, with p->code set. */
static bool proc_reap(th_proc *p, bool block)
{
    return th_reap(&p->pid, &p->code, block, -1);
}

/* Waits up to timeout_ms for p to exit. Returns true when it has. */
static bool proc_wait(th_proc *p, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    while (!proc_reap(p, false)) {
        if (th_now_ms() >= deadline) return false;
        th_sleep_ms(TH_POLL_STEP_MS);
    }
    return true;
}

/* Sends sig, waits grace_ms, then SIGKILLs. Returns the exit code of the
 * last run (also when it had already exited), or -1 if it never ran. */
static int proc_stop(th_proc *p, int sig, int grace_ms)
{
    if (p->pid != 0 && !proc_reap(p, false)) {
        kill(p->pid, sig);
        if (!proc_wait(p, grace_ms)) {
            th_log("pid %d ignored signal %d for %d ms; SIGKILL", (int)p->pid,
                   sig, grace_ms);
            kill(p->pid, SIGKILL);
            proc_reap(p, true);
        }
    }
    return p->ran ? p->code : -1;
}

/* ========================================================================
 * Environment
 * ===================================================================== */

th_env *th_start(void)
{
    th_env *env = calloc(1, sizeof *env);
    if (!env) {
        th_log("out of memory");
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char tmpl[TH_PATH_MAX];
    int n = snprintf(tmpl, sizeof tmpl, "%s/microwish-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof tmpl - 64) {
        th_log("TMPDIR too long: %s", tmp);
        goto err;
    }
    if (!mkdtemp(tmpl)) {
        th_log("mkdtemp %s: %s", tmpl, strerror(errno));
        goto err;
    }
    if (!realpath(tmpl, env->dir) || strlen(env->dir) >= sizeof env->dir - 64) {
        th_log("realpath %s: %s", tmpl, strerror(errno));
        rm_tree(tmpl);
        goto err;
    }
    char sock[TH_PATH_MAX];
    th_path(env, "redis.sock", sock, sizeof sock);
    if (strlen(sock) < sizeof(((struct sockaddr_un *)0)->sun_path))
        memcpy(env->redis_sock, sock, strlen(sock) + 1);
    th_path(env, "redis.out", env->redis.log, sizeof env->redis.log);
    env->redis.code = -1;

    /* A peer that vanishes must not kill the test with SIGPIPE; children
     * get the default back before exec. */
    signal(SIGPIPE, SIG_IGN);
    if (!th_atexit_set) {
        atexit(th_cleanup_all);
        th_atexit_set = true;
    }
    env->next_live = th_live;
    th_live = env;
    return env;
err:
    free(env);
    return NULL;
}

/* Unlinks env from the live list. */
static void env_unlink(th_env *env)
{
    for (th_env **pp = &th_live; *pp; pp = &(*pp)->next_live) {
        if (*pp == env) {
            *pp = env->next_live;
            return;
        }
    }
}

/* Frees a wishd handle and its argument copies (the process must be
 * gone). */
static void wishd_free(th_wishd *w)
{
    if (w->extra) {
        for (char **a = w->extra; *a; a++)
            free(*a);
        free(w->extra);
    }
    free(w);
}

void th_stop(th_env *env)
{
    if (!env) return;
    env_unlink(env);
    while (env->deferred) {
        th_deferred *d = env->deferred;
        env->deferred = d->next;
        d->fn(d->arg);
        free(d);
    }
    for (int i = 0; i < env->nwishd; i++) {
        proc_stop(&env->wishd[i]->proc, SIGKILL, TH_STOP_MS);
        wishd_free(env->wishd[i]);
    }
    proc_stop(&env->redis, SIGKILL, TH_STOP_MS);
    const char *keep = getenv("TH_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0)
        th_log("TH_KEEP: leaving %s", env->dir);
    else
        rm_tree(env->dir);
    free(env);
}

void th_cleanup_all(void)
{
    while (th_live)
        th_stop(th_live);
}

const char *th_dir(const th_env *env)
{
    return env->dir;
}

int th_path(const th_env *env, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", env->dir, name);
    if (n < 0 || (size_t)n >= size) {
        th_log("path too long: %s/%s", env->dir, name);
        return -1;
    }
    return 0;
}

int th_write_file(th_env *env, const char *name, const char *content,
                  unsigned mode)
{
    char path[TH_PATH_MAX];
    if (th_path(env, name, path, sizeof path) < 0) return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        th_log("open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(content), off = 0;
    while (off < len) {
        ssize_t n = write(fd, content + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            th_log("write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || close(fd) < 0) {
        th_log("chmod/close %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int th_defer(th_env *env, void (*fn)(void *arg), void *arg)
{
    th_deferred *d = malloc(sizeof *d);
    if (!d) {
        th_log("out of memory");
        return -1;
    }
    d->fn = fn;
    d->arg = arg;
    d->next = env->deferred;
    env->deferred = d;
    return 0;
}

void th_undefer(th_env *env, void (*fn)(void *arg), void *arg)
{
    for (th_deferred **pp = &env->deferred; *pp; pp = &(*pp)->next) {
        th_deferred *d = *pp;
        if (d->fn == fn && d->arg == arg) {
            *pp = d->next;
            free(d);
            return;
        }
    }
}

const char *th_secret_path(th_env *env)
{
    if (env->secret_path[0]) return env->secret_path;
    unsigned char raw[TH_SECRET_BYTES];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        th_log("getrandom: %s", strerror(errno));
        return NULL;
    }
    static const char hex[] = "0123456789abcdef";
    char text[2 * TH_SECRET_BYTES + 1];
    for (size_t i = 0; i < sizeof raw; i++) {
        text[2 * i] = hex[raw[i] >> 4];
        text[2 * i + 1] = hex[raw[i] & 15];
    }
    text[2 * TH_SECRET_BYTES] = '\0';
    if (th_write_file(env, "secret", text, 0600) < 0) return NULL;
    memcpy(env->secret, text, sizeof text);
    env->secret_len = 2 * TH_SECRET_BYTES;
    th_path(env, "secret", env->secret_path, sizeof env->secret_path);
    return env->secret_path;
}

const unsigned char *th_secret(th_env *env, size_t *len)
{
    if (!th_secret_path(env)) return NULL;
    *len = env->secret_len;
    return env->secret;
}

/* ========================================================================
 * redis-server
 * ===================================================================== */

/* th_free_port(), but never a port the env already gave its redis or a
 * wishd: the kernel may hand out a just-closed port again. */
static int env_fresh_port(th_env *env)
{
    for (int tries = 0; tries < 20; tries++) {
        int port = th_free_port();
        bool taken = port == env->redis_port;
        for (int i = 0; i < env->nwishd && !taken; i++)
            taken = port == env->wishd[i]->port;
        if (port < 0 || !taken) return port;
    }
    th_log("no fresh port");
    return -1;
}

int th_redis_port(th_env *env)
{
    if (env->redis_port == 0) {
        int port = env_fresh_port(env);
        if (port < 0) return -1;
        env->redis_port = port;
    }
    return env->redis_port;
}

const char *th_redis_socket(const th_env *env)
{
    return env->redis_sock[0] ? env->redis_sock : NULL;
}

pid_t th_redis_pid(const th_env *env)
{
    return env->redis.pid;
}

/* Runs the formatted command cmd[len] on 127.0.0.1:port, on a fresh
 * connection with deadlines of `ms` to connect and 5 times that for the
 * reply. Returns the reply or NULL (reason on stderr unless quiet). */
static redisReply *redis_port_cmd(int port, bool quiet, int ms,
                                  const char *cmd, size_t len)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!rc || rc->err) {
        if (!quiet)
            th_log("redis 127.0.0.1:%d: %s", port,
                   rc ? rc->errstr : "out of memory");
        redisFree(rc);
        return NULL;
    }
    struct timeval cmd_tv = {5 * ms / 1000, (5 * ms % 1000) * 1000};
    redisSetTimeout(rc, cmd_tv);
    void *reply = NULL;
    if (redisAppendFormattedCommand(rc, cmd, len) != REDIS_OK ||
        redisGetReply(rc, &reply) != REDIS_OK)
        reply = NULL;
    if (!reply && !quiet) th_log("redis 127.0.0.1:%d: %s", port, rc->errstr);
    redisFree(rc);
    return reply;
}

/* redis_vcmd() on the cluster the env's wishd use: the command goes to
 * the first seed and follows MOVED (at most twice) to the master of its
 * key's slot, so a keyed command reads and writes where wishd does. A
 * command without a key runs on the first seed. */
static redisReply *redis_cluster_vcmd(th_env *env, bool quiet, int ms,
                                      const char *fmt, va_list ap)
{
    int port;
    if (sscanf(env->cluster_seeds, "%*[^:]:%d", &port) != 1) {
        if (!quiet) th_log("redis: bad cluster seeds %s", env->cluster_seeds);
        return NULL;
    }
    char *cmd;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        if (!quiet) th_log("redis: %s: cannot format", fmt);
        return NULL;
    }
    redisReply *r = redis_port_cmd(port, quiet, ms, cmd, (size_t)len);
    for (int hops = 0; hops < 2 && r && r->type == REDIS_REPLY_ERROR &&
                       sscanf(r->str, "MOVED %*u %*[^:]:%d", &port) == 1;
         hops++) {
        freeReplyObject(r);
        r = redis_port_cmd(port, quiet, ms, cmd, (size_t)len);
    }
    redisFreeCommand(cmd);
    return r;
}

/* Runs one command on a fresh connection with deadlines of `ms` to
 * connect and 5 times that for the reply. `quiet` keeps failures off
 * stderr (readiness polling). Returns the reply or NULL. */
static redisReply *redis_vcmd(th_env *env, bool quiet, int ms, const char *fmt,
                              va_list ap)
{
    if (env->redis_port == 0 && env->cluster_seeds[0] != '\0')
        return redis_cluster_vcmd(env, quiet, ms, fmt, ap);
    if (env->redis_port == 0) {
        if (!quiet) th_log("redis: not started");
        return NULL;
    }
    char *cmd;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        if (!quiet) th_log("redis: %s: cannot format", fmt);
        return NULL;
    }
    redisReply *r =
        redis_port_cmd(env->redis_port, quiet, ms, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

/* redis_vcmd() with variable arguments. */
static redisReply *redis_cmd(th_env *env, bool quiet, int ms, const char *fmt,
                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_vcmd(env, quiet, ms, fmt, ap);
    va_end(ap);
    return r;
}

/* True when the env's redis answers PING with PONG right now (within
 * 100 ms to connect, 500 ms to answer: something else may hold the
 * port and never answer). */
static bool redis_pong(th_env *env)
{
    redisReply *r = redis_cmd(env, true, 100, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && r->str &&
              strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    return ok;
}

/* Prints what redis-server said, for a failed start. */
static void redis_tails(th_env *env)
{
    char path[TH_PATH_MAX];
    th_log_tail(env->redis.log, TH_TAIL_LINES);
    if (th_path(env, "redis.log", path, sizeof path) == 0)
        th_log_tail(path, TH_TAIL_LINES);
}

/* The value set for a directive with th_redis_set_option(), or NULL. */
static const char *redis_opt(const th_env *env, const char *name)
{
    for (int i = 0; i < env->nredis_opts; i++)
        if (strcmp(env->redis_opts[i].name, name) == 0)
            return env->redis_opts[i].value;
    return NULL;
}

int th_redis_set_option(th_env *env, const char *name, const char *value)
{
    static const char *const owned[] = {"port", "bind", "dir", "logfile",
                                        "daemonize", "unixsocket",
                                        "unixsocketperm"};
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof env->redis_opts[0].name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len) {
        th_log("redis option \"%s\": not a directive name", name);
        return -1;
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcmp(name, owned[i]) == 0) {
            th_log("redis option %s: set by the harness", name);
            return -1;
        }
    if (strchr(value, '\n') || strlen(value) >= TH_PATH_MAX) {
        th_log("redis option %s: bad value", name);
        return -1;
    }
    th_redis_opt *o = NULL;
    for (int i = 0; i < env->nredis_opts && !o; i++)
        if (strcmp(env->redis_opts[i].name, name) == 0)
            o = &env->redis_opts[i];
    if (!o) {
        if (env->nredis_opts == TH_REDIS_OPTS_MAX) {
            th_log("redis option %s: more than %d options", name,
                   TH_REDIS_OPTS_MAX);
            return -1;
        }
        o = &env->redis_opts[env->nredis_opts++];
        memcpy(o->name, name, len + 1);
    }
    memcpy(o->value, value, strlen(value) + 1);
    return 0;
}

/* Writes <dir>/redis.conf into path[size]: the harness's directives, a
 * default replaced by th_redis_set_option()'s value of the same name,
 * then the other options set. Returns 0 or -1. */
static int redis_write_conf(th_env *env, char *path, size_t size)
{
    static const char *const defaults[][2] = {
        {"save", "\"\""},
        {"appendonly", "no"},
        {"protected-mode", "no"},
        {"enable-debug-command", "local"},
    };
    enum { NDEFAULTS = sizeof defaults / sizeof defaults[0] };
    char conf[8 * TH_PATH_MAX], sock[TH_PATH_MAX + 64] = "";
    if (env->redis_sock[0])
        snprintf(sock, sizeof sock, "unixsocket %s\nunixsocketperm 700\n",
                 env->redis_sock);
    int n = snprintf(conf, sizeof conf,
                     "port %d\n"
                     "bind 127.0.0.1\n"
                     "dir %s\n"
                     "daemonize no\n"
                     "logfile %s/redis.log\n"
                     "%s",
                     env->redis_port, env->dir, env->dir, sock);
    for (int i = 0; i < NDEFAULTS && n >= 0 && (size_t)n < sizeof conf; i++) {
        const char *v = redis_opt(env, defaults[i][0]);
        n += snprintf(conf + n, sizeof conf - (size_t)n, "%s %s\n",
                      defaults[i][0], v ? v : defaults[i][1]);
    }
    for (int i = 0; i < env->nredis_opts && n >= 0 && (size_t)n < sizeof conf;
         i++) {
        bool is_default = false;
        for (int d = 0; d < NDEFAULTS; d++)
            is_default |= strcmp(env->redis_opts[i].name, defaults[d][0]) == 0;
        if (!is_default)
            n += snprintf(conf + n, sizeof conf - (size_t)n, "%s %s\n",
                          env->redis_opts[i].name, env->redis_opts[i].value);
    }
    if (n < 0 || (size_t)n >= sizeof conf) {
        th_log("redis.conf too long");
        return -1;
    }
    if (th_write_file(env, "redis.conf", conf, 0600) < 0) return -1;
    return th_path(env, "redis.conf", path, size);
}

/* Tests run side by side (tests/run_tests.sh), each picking free ports:
 * between th_free_port()'s check and the server's bind another process
 * may take the port. A first start that failed on that alone is made
 * again on another port, this many times, while nothing was told the
 * port yet (no wishd, no earlier run of redis-server). */
#define TH_PORT_RACE_TRIES 5

static int redis_start_once(th_env *env);

int th_redis_start(th_env *env)
{
    for (int tries = 1;; tries++) {
        int rc = redis_start_once(env);
        if (rc == 0) {
            env->redis_port_kept = true;
            return 0;
        }
        char log[TH_PATH_MAX];
        if (env->redis_port_kept || env->nwishd > 0 ||
            tries == TH_PORT_RACE_TRIES ||
            th_path(env, "redis.log", log, sizeof log) < 0 ||
            !th_file_contains(log, "Address already in use"))
            return rc;
        th_log("port %d was taken before redis-server bound it; another "
               "port", env->redis_port);
        env->redis_port = 0;
        if (truncate(log, 0) < 0) return rc;
    }
}

static int redis_start_once(th_env *env)
{
    if (!proc_reap(&env->redis, false)) return 0; /* running */
    char conf[TH_PATH_MAX];
    if (th_redis_port(env) < 0 || redis_write_conf(env, conf, sizeof conf))
        return -1;
    char *argv[] = {"redis-server", conf, NULL};
    if (proc_spawn(&env->redis, argv) < 0) return -1;
    int64_t deadline = th_now_ms() + TH_START_MS;
    for (;;) {
        if (proc_reap(&env->redis, false)) {
            th_log("redis-server on port %d exited with code %d",
                   env->redis_port, env->redis.code);
            break;
        }
        if (redis_pong(env)) return 0;
        if (th_now_ms() >= deadline) {
            th_log("redis-server on port %d: no PONG within %d ms",
                   env->redis_port, TH_START_MS);
            break;
        }
        th_sleep_ms(TH_READY_STEP_MS);
    }
    proc_stop(&env->redis, SIGKILL, TH_STOP_MS);
    redis_tails(env);
    return -1;
}

int th_redis_stop(th_env *env)
{
    return proc_stop(&env->redis, SIGTERM, TH_STOP_MS);
}

int th_redis_kill(th_env *env)
{
    return proc_stop(&env->redis, SIGKILL, TH_STOP_MS);
}

int th_redis_restart(th_env *env)
{
    th_redis_stop(env);
    return th_redis_start(env);
}

redisReply *th_redis_cmd(th_env *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_vcmd(env, false, 1000, fmt, ap);
    va_end(ap);
    return r;
}

int64_t th_redis_int(th_env *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_vcmd(env, false, 1000, fmt, ap);
    va_end(ap);
    if (!r) return INT64_MIN;
    int64_t v = INT64_MIN;
    if (r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else
        th_log("redis: %s: reply type %d (%s), not an integer", fmt, r->type,
               r->str ? r->str : "");
    freeReplyObject(r);
    return v;
}

int th_redis_str(th_env *env, char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_vcmd(env, false, 1000, fmt, ap);
    va_end(ap);
    if (size > 0) buf[0] = '\0';
    if (!r) return -1;
    int rc = -1;
    switch (r->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
        if ((size_t)r->len < size) {
            memcpy(buf, r->str, (size_t)r->len);
            buf[r->len] = '\0';
            rc = 0;
        } else {
            th_log("redis: %s: reply of %zu bytes does not fit", fmt,
                   (size_t)r->len);
        }
        break;
    case REDIS_REPLY_NIL:
        rc = 1;
        break;
    case REDIS_REPLY_ERROR:
        if (size > 0) snprintf(buf, size, "%s", r->str);
        th_log("redis: %s: %s", fmt, r->str);
        break;
    default:
        th_log("redis: %s: reply type %d, not a string", fmt, r->type);
    }
    freeReplyObject(r);
    return rc;
}

/* ========================================================================
 * wishd
 * ===================================================================== */

/* Starts w's process and waits for its port. On failure kills it, prints
 * its log tail and returns -1. */
static int wishd_launch(th_wishd *w)
{
    th_env *env = w->env;
    const char *bindir = getenv("WISH_BIN");
    if (!bindir || !*bindir) bindir = "./bin";
    char bin[TH_PATH_MAX], port[16], redis[32];
    if ((size_t)snprintf(bin, sizeof bin, "%s/wishd", bindir) >= sizeof bin)
        return -1;
    if (access(bin, X_OK) < 0) {
        th_log("%s: %s (build it, or set WISH_BIN)", bin, strerror(errno));
        return -1;
    }
    const char *secret = th_secret_path(env);
    bool cluster = env->cluster_seeds[0] != '\0';
    int rport = cluster ? 0 : th_redis_port(env);
    if (!secret || rport < 0) return -1;
    snprintf(port, sizeof port, "%d", w->port);
    snprintf(redis, sizeof redis, "127.0.0.1:%d", rport);

    size_t nextra = 0;
    while (w->extra && w->extra[nextra])
        nextra++;
    const char *fixed[] = {bin,         "--port",      port,   "--bind",
                           "127.0.0.1", "--redis",     redis,  "--secret-file",
                           secret,      "--log-level", "debug"};
    if (cluster) {
        fixed[5] = "--redis-cluster";
        fixed[6] = env->cluster_seeds;
    }
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    char **argv = calloc(nfixed + nextra + 1, sizeof *argv);
    if (!argv) {
        th_log("out of memory");
        return -1;
    }
    for (size_t i = 0; i < nfixed; i++)
        argv[i] = (char *)fixed[i];
    for (size_t i = 0; i < nextra; i++)
        argv[nfixed + i] = w->extra[i];
    int rc = proc_spawn(&w->proc, argv);
    free(argv);
    if (rc < 0) return -1;

    int64_t deadline = th_now_ms() + TH_START_MS;
    for (;;) {
        if (proc_reap(&w->proc, false)) {
            th_log("wishd %d (port %d) exited with code %d while starting",
                   w->index, w->port, w->proc.code);
            break;
        }
        if (tcp_probe(w->port)) {
            if (!proc_reap(&w->proc, false)) return 0;
            th_log("port %d answered but wishd %d exited with code %d", w->port,
                   w->index, w->proc.code);
            break;
        }
        if (th_now_ms() >= deadline) {
            th_log("wishd %d: port %d not accepting within %d ms", w->index,
                   w->port, TH_START_MS);
            break;
        }
        th_sleep_ms(TH_READY_STEP_MS);
    }
    proc_stop(&w->proc, SIGKILL, TH_STOP_MS);
    th_log_tail(w->proc.log, TH_TAIL_LINES);
    return -1;
}

int th_wishd_use_cluster(th_env *env, const char *seeds)
{
    if (seeds == NULL) seeds = "";
    if (strlen(seeds) >= sizeof env->cluster_seeds) {
        th_log("cluster seeds too long");
        return -1;
    }
    snprintf(env->cluster_seeds, sizeof env->cluster_seeds, "%s", seeds);
    return 0;
}

th_wishd *th_wishd_startv(th_env *env, const char *const *extra)
{
    if (env->nwishd == TH_WISHD_MAX) {
        th_log("more than %d wishd in one env", TH_WISHD_MAX);
        return NULL;
    }
    th_wishd *w = calloc(1, sizeof *w);
    size_t nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    if (!w || !(w->extra = calloc(nextra + 1, sizeof *w->extra))) {
        free(w);
        th_log("out of memory");
        return NULL;
    }
    w->env = env;
    w->index = env->nwishd + 1;
    w->proc.code = -1;
    /* Owned by the env from here on: th_stop() frees it, even on error. */
    env->wishd[env->nwishd++] = w;
    for (size_t i = 0; i < nextra; i++) {
        if (!(w->extra[i] = strdup(extra[i]))) {
            th_log("out of memory");
            return NULL;
        }
    }
    char name[32];
    snprintf(name, sizeof name, "wishd-%d.log", w->index);
    if (th_path(env, name, w->proc.log, sizeof w->proc.log) < 0) return NULL;
    /* Another port if this one was taken before wishd bound it (see
     * TH_PORT_RACE_TRIES); the failed start's log goes first. */
    for (int tries = 1;; tries++) {
        if ((w->port = env_fresh_port(env)) < 0) return NULL;
        if (wishd_launch(w) == 0) return w;
        if (tries == TH_PORT_RACE_TRIES ||
            !th_file_contains(w->proc.log, "Address already in use"))
            return NULL;
        th_log("port %d was taken before wishd %d bound it; another port",
               w->port, w->index);
        if (truncate(w->proc.log, 0) < 0) return NULL;
    }
}

th_wishd *th_wishd_start(th_env *env, ...)
{
    enum { MAX_ARGS = 64 };
    const char *extra[MAX_ARGS + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, env);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (n == MAX_ARGS) {
            va_end(ap);
            th_log("more than %d extra wishd arguments", MAX_ARGS);
            return NULL;
        }
        extra[n++] = a;
    }
    va_end(ap);
    extra[n] = NULL;
    return th_wishd_startv(env, extra);
}

int th_wishd_port(const th_wishd *w)
{
    return w->port;
}

pid_t th_wishd_pid(const th_wishd *w)
{
    return w->proc.pid;
}

const char *th_wishd_log(const th_wishd *w)
{
    return w->proc.log;
}

bool th_wishd_running(th_wishd *w)
{
    return !proc_reap(&w->proc, false);
}

int th_wishd_signal(th_wishd *w, int sig)
{
    if (!th_wishd_running(w)) return -1;
    return kill(w->proc.pid, sig);
}

int th_wishd_stop(th_wishd *w)
{
    int code = proc_stop(&w->proc, SIGTERM, TH_STOP_MS);
    if (code != 0 && w->proc.ran) {
        th_log("wishd %d (port %d) exited with code %d", w->index, w->port,
               code);
        th_log_tail(w->proc.log, TH_TAIL_LINES);
    }
    return code;
}

int th_wishd_kill(th_wishd *w)
{
    return proc_stop(&w->proc, SIGKILL, TH_STOP_MS);
}

int th_wishd_restart(th_wishd *w)
{
    if (th_wishd_running(w)) th_wishd_stop(w);
    return wishd_launch(w);
}
