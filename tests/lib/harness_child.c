/* harness_child.c -- short-lived commands run by the integration tests
 * (wishctl, python3, tmux...) with their output on pipes (see harness.h,
 * "Children", for the contracts).
 *
 * A child's stdout, and its stderr unless that goes to a file, are pipes
 * whose read ends the handle keeps. Nothing reads them in the background:
 * the test's calls do, each within its deadline, and append to a growing
 * buffer per stream. Everything the parent opens is O_CLOEXEC, so the
 * pipes of one child never leak into another process the tests start.
 */
#include "tests/lib/harness.h"
#include "tests/lib/harness_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TH_CHILD_STEP_MS 10 /* waiting for a child to exit */
#define TH_CHILD_CHUNK 16384

extern char **environ;

/* One stream of the child's output. */
typedef struct th_stream {
    int fd;           /* read end of the pipe; -1 at its end or when no pipe */
    char *buf;        /* what was read and not taken, NUL-terminated; NULL
                         until the first byte */
    size_t len;       /* bytes in buf, without the NUL */
    const char *name; /* "stdout" or "stderr", for messages */
} th_stream;

struct th_child {
    th_env *env; /* NULL when not registered */
    pid_t pid;   /* 0 once reaped */
    int code;    /* th_exit_code() once reaped, TH_ERR when waitpid failed */
    th_stream out, err;
    char err_path[TH_PATH_MAX]; /* "" when stderr is a pipe */
};

/* ========================================================================
 * Starting
 * ===================================================================== */

/* th_defer() callback: th_stop() ends a child the test left behind. */
static void child_deferred(void *arg)
{
    th_child_free(arg);
}

/* Length of the name of an environment entry ("NAME=VALUE" or "NAME"). */
static size_t env_name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* True when entries a and b name the same variable. */
static bool env_same_name(const char *a, const char *b)
{
    size_t n = env_name_len(a);
    return n == env_name_len(b) && strncmp(a, b, n) == 0;
}

/* Builds the child's environment: this process's, less every variable
 * that edits names, plus the "NAME=VALUE" edits (the last edit of a name
 * wins). Returns a NULL-terminated array of borrowed strings that the
 * caller frees (the array only), or NULL when out of memory. */
static char **child_envp(const char *const *edits)
{
    size_t nenv = 0, nedit = 0, m = 0;
    while (environ[nenv])
        nenv++;
    while (edits[nedit])
        nedit++;
    char **envp = calloc(nenv + nedit + 1, sizeof *envp);
    if (!envp) return NULL;
    for (size_t i = 0; i < nenv; i++) {
        bool edited = false;
        for (size_t j = 0; j < nedit && !edited; j++)
            edited = env_same_name(environ[i], edits[j]);
        if (!edited) envp[m++] = environ[i];
    }
    for (size_t j = 0; j < nedit; j++) {
        bool later = false;
        for (size_t k = j + 1; k < nedit && !later; k++)
            later = env_same_name(edits[j], edits[k]);
        if (!later && strchr(edits[j], '=')) envp[m++] = (char *)edits[j];
    }
    envp[m] = NULL;
    return envp;
}

/* Fills a pipe (made nonblocking on the write side) with input, whole.
 * Returns 0, or -1 with the reason logged. */
static int child_feed(int fd, const char *input)
{
    size_t len = strlen(input), off = 0;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        th_log("child input: fcntl: %s", strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, input + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            th_log("child input: %zu of %zu bytes written: %s", off, len,
                   strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

void th_exec_child(pid_t parent, int in, int out, int err,
                   const char *const *argv, char *const *envp)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if ((in >= 0 && dup2(in, STDIN_FILENO) < 0) ||
        dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        _exit(127);
    if (close_range(3, ~0U, 0) < 0)
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    execvpe(argv[0], (char *const *)argv, envp);
    static const char msg[] = "harness: exec failed: ";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)!write(STDERR_FILENO, argv[0], strlen(argv[0]));
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(127);
}

/* Closes fd when it is open. */
static void close_fd(int fd)
{
    if (fd >= 0) close(fd);
}

th_child *th_child_start(th_env *env, const char *const *argv,
                         const th_child_opts *opts)
{
    static const th_child_opts defaults;
    if (!opts) opts = &defaults;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    char **envp = NULL;
    th_child *c = calloc(1, sizeof *c);
    if (!c) {
        th_log("out of memory");
        return NULL;
    }
    c->out = (th_stream){.fd = -1, .name = "stdout"};
    c->err = (th_stream){.fd = -1, .name = "stderr"};
    c->code = TH_ERR;

    if (opts->input) {
        if (pipe2(in, O_CLOEXEC) < 0) {
            th_log("pipe: %s", strerror(errno));
            goto err;
        }
        /* Written before the fork, so that the child finds it all and
         * the write end is closed in both processes. */
        if (child_feed(in[1], opts->input) < 0) goto err;
        close(in[1]);
        in[1] = -1;
    } else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        th_log("open /dev/null: %s", strerror(errno));
        goto err;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        th_log("pipe: %s", strerror(errno));
        goto err;
    }
    if (opts->err_path) {
        size_t len = strlen(opts->err_path);
        if (len >= sizeof c->err_path) {
            th_log("path too long: %s", opts->err_path);
            goto err;
        }
        memcpy(c->err_path, opts->err_path, len + 1);
        err[1] =
            open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (err[1] < 0) {
            th_log("open %s: %s", c->err_path, strerror(errno));
            goto err;
        }
    } else if (pipe2(err, O_CLOEXEC) < 0) {
        th_log("pipe: %s", strerror(errno));
        goto err;
    }
    if (opts->env && !(envp = child_envp(opts->env))) {
        th_log("out of memory");
        goto err;
    }

    pid_t parent = getpid();
    c->pid = fork();
    if (c->pid < 0) {
        th_log("fork: %s", strerror(errno));
        c->pid = 0;
        goto err;
    }
    if (c->pid == 0)
        th_exec_child(parent, in[0], out[1], err[1], argv,
                      envp ? envp : environ);
    free(envp);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    c->out.fd = out[0];
    c->err.fd = err[0];
    if (env) {
        if (th_defer(env, child_deferred, c) < 0) {
            th_child_free(c);
            return NULL;
        }
        c->env = env;
    }
    return c;
err:
    free(envp);
    close_fd(in[0]);
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(out[1]);
    close_fd(err[0]);
    close_fd(err[1]);
    free(c);
    return NULL;
}

/* ========================================================================
 * Output
 * ===================================================================== */

/* Reads once from s (which poll() said is readable) and appends to its
 * buffer; closes it at its end. Returns 0, or -1 with the reason logged
 * (the stream is closed then too). */
static int stream_read(th_child *c, th_stream *s)
{
    char chunk[TH_CHILD_CHUNK];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) return 0;
    if (n < 0)
        th_log("pid %d: read %s: %s", (int)c->pid, s->name, strerror(errno));
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return n < 0 ? -1 : 0;
    }
    if (s->len + (size_t)n > TH_CHILD_OUT_MAX) {
        th_log("pid %d: more than %d bytes of %s not taken", (int)c->pid,
               TH_CHILD_OUT_MAX, s->name);
        return -1;
    }
    char *p = realloc(s->buf, s->len + (size_t)n + 1);
    if (!p) {
        th_log("out of memory");
        return -1;
    }
    s->buf = p;
    memcpy(s->buf + s->len, chunk, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return 0;
}

int th_child_read(th_child *c, int timeout_ms)
{
    th_stream *all[2] = {&c->out, &c->err}, *s[2];
    struct pollfd p[2];
    int n = 0;
    for (int i = 0; i < 2; i++) {
        if (all[i]->fd < 0) continue;
        p[n] = (struct pollfd){.fd = all[i]->fd, .events = POLLIN};
        s[n++] = all[i];
    }
    if (n == 0) return TH_CLOSED;
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - th_now_ms();
        int r = poll(p, (nfds_t)n, left > 0 ? (int)left : 0);
        if (r > 0) break;
        if (r == 0) return TH_TIMEOUT;
        if (errno != EINTR) {
            th_log("pid %d: poll: %s", (int)c->pid, strerror(errno));
            return TH_ERR;
        }
    }
    int rc = TH_OK;
    for (int i = 0; i < n; i++)
        if (p[i].revents && stream_read(c, s[i]) < 0) rc = TH_ERR;
    return rc;
}

int th_child_line(th_child *c, char *line, size_t size, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        char *nl = c->out.len ? memchr(c->out.buf, '\n', c->out.len) : NULL;
        if (nl) {
            size_t k = (size_t)(nl - c->out.buf);
            snprintf(line, size, "%.*s", (int)k, c->out.buf);
            c->out.len -= k + 1;
            memmove(c->out.buf, nl + 1, c->out.len + 1); /* and the NUL */
            return TH_OK;
        }
        if (c->out.fd < 0) return TH_CLOSED;
        int64_t left = deadline - th_now_ms();
        if (left <= 0) return TH_TIMEOUT;
        if (th_child_read(c, (int)left) == TH_ERR) return TH_ERR;
    }
}

const char *th_child_out(const th_child *c, size_t *len)
{
    if (len) *len = c->out.len;
    return c->out.buf ? c->out.buf : "";
}

const char *th_child_err(const th_child *c)
{
    return c->err.buf ? c->err.buf : "";
}

const char *th_child_err_path(const th_child *c)
{
    return c->err_path[0] ? c->err_path : NULL;
}

/* ========================================================================
 * Exit
 * ===================================================================== */

/* Reaps the child if it has exited (blocking when `block`). Returns true
 * when it is no longer running, with c->code set. */
static bool child_reap(th_child *c, bool block)
{
    return th_reap(&c->pid, &c->code, block, TH_ERR);
}

int th_child_signal(th_child *c, int sig)
{
    if (child_reap(c, false)) return -1;
    return kill(c->pid, sig);
}

pid_t th_child_pid(const th_child *c)
{
    return c->pid;
}

int th_child_wait(th_child *c, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        if (child_reap(c, false)) return c->code;
        int64_t left = deadline - th_now_ms();
        if (left <= 0) return TH_TIMEOUT;
        int step = left < TH_CHILD_STEP_MS ? (int)left : TH_CHILD_STEP_MS;
        if (c->out.fd < 0 && c->err.fd < 0)
            th_sleep_ms(step);
        else if (th_child_read(c, step) == TH_ERR)
            return TH_ERR;
    }
}

int th_child_finish(th_child *c, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    while (c->out.fd >= 0 || c->err.fd >= 0) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0) return TH_TIMEOUT;
        if (th_child_read(c, (int)left) == TH_ERR) return TH_ERR;
    }
    int64_t left = deadline - th_now_ms();
    return th_child_wait(c, left > 0 ? (int)left : 0);
}

void th_child_free(th_child *c)
{
    if (!c) return;
    if (c->env) th_undefer(c->env, child_deferred, c);
    if (!child_reap(c, false)) {
        kill(c->pid, SIGKILL);
        child_reap(c, true);
    }
    close_fd(c->out.fd);
    close_fd(c->err.fd);
    free(c->out.buf);
    free(c->err.buf);
    free(c);
}
