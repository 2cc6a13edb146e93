/* test_python_client.c -- docs/examples/client.py, the Python client of
 * docs/clients.md, run with /usr/bin/python3 against a real wishd: it
 * says hello with a token from argv, submits a wish, gets the "assigned"
 * event when a volunteer claims the wish, acks it (the inbox empties) and
 * exits 0; with a bad token from $WISH_TOKEN it exits 1, and with no
 * wishd to talk to 69.
 *
 * The example is found as $WISH_SRC/docs/examples/client.py, WISH_SRC
 * defaulting to "." (the top of the tree, where `make check` runs). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define PYTHON "/usr/bin/python3"
#define RESIDENT "wang-ayi"
#define RUN_MS 15000 /* deadline for one run of the example */
#define ARGS_MAX 24

/* ------------------------------------------------------------------------
 * Running the example
 * --------------------------------------------------------------------- */

typedef struct py_run {
    pid_t pid;
    int out_fd;      /* its stdout; -1 once at EOF */
    char out[8192];  /* everything it printed so far, NUL-terminated */
    size_t len;
    char err_path[TH_PATH_MAX]; /* its stderr */
} py_run;

/* th_defer() callback: kills a run the test left behind. */
static void py_reap(void *arg)
{
    py_run *r = arg;

    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    if (r->out_fd >= 0) close(r->out_fd);
    free(r);
}

/* Starts python3 client.py with the NULL-terminated args, and with
 * WISH_TOKEN set to env_token when that is non-NULL (else unset). */
static py_run *py_start(th_env *env, const char *const *args,
                        const char *env_token)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    char script[TH_PATH_MAX];
    const char *argv[ARGS_MAX + 3];
    py_run *r = calloc(1, sizeof(*r));
    int fds[2], n = 0;

    assert_non_null(r);
    r->out_fd = -1;
    assert_int_equal(th_defer(env, py_reap, r), 0);
    snprintf(script, sizeof(script), "%s/docs/examples/client.py", src);
    if (access(script, R_OK) != 0)
        fail_msg("%s: %s (run from the top of the tree or set WISH_SRC)",
                 script, strerror(errno));
    assert_int_equal(th_path(env, "python.err", r->err_path,
                             sizeof(r->err_path)),
                     0);
    argv[n++] = PYTHON;
    argv[n++] = script;
    for (; *args && n < ARGS_MAX + 2; args++) argv[n++] = *args;
    argv[n] = NULL;

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        int err = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        dup2(fds[1], 1);
        if (err >= 0) dup2(err, 2);
        if (env_token)
            setenv("WISH_TOKEN", env_token, 1);
        else
            unsetenv("WISH_TOKEN");
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    r->out_fd = fds[0];
    return r;
}

/* Reads what the run printed next, waiting up to the deadline. Returns
 * false when nothing came in time; at EOF closes out_fd. */
static bool py_read_some(py_run *r, int64_t deadline)
{
    struct pollfd p = {.fd = r->out_fd, .events = POLLIN};
    int64_t left = deadline - th_now_ms();
    ssize_t got;

    if (left <= 0 || poll(&p, 1, (int)left) <= 0) return false;
    got = read(r->out_fd, r->out + r->len, sizeof(r->out) - 1 - r->len);
    if (got <= 0) {
        close(r->out_fd);
        r->out_fd = -1;
        return true;
    }
    r->len += (size_t)got;
    r->out[r->len] = '\0';
    return true;
}

/* The whole line of output that starts with label, or NULL. */
static const char *py_line(const py_run *r, const char *label)
{
    for (const char *p = r->out; (p = strstr(p, label)) != NULL; p++)
        if ((p == r->out || p[-1] == '\n') && strchr(p, '\n')) return p;
    return NULL;
}

/* Waits until the run has printed a line starting with label. */
static void py_wait_line(py_run *r, const char *label)
{
    int64_t deadline = th_now_ms() + RUN_MS;

    while (!py_line(r, label))
        if (r->out_fd < 0 || !py_read_some(r, deadline))
            fail_msg("client.py printed no '%s' line:\n%s", label, r->out);
}

/* Reads its output to the end, waits for it to exit and returns its exit
 * code; kills it and fails the test if it takes longer than RUN_MS. When
 * the code is not `want`, shows what it printed. */
static int py_finish(py_run *r, int want)
{
    int64_t deadline = th_now_ms() + RUN_MS;
    int status, code;

    while (r->out_fd >= 0)
        if (!py_read_some(r, deadline)) fail_msg("client.py did not end");
    while (waitpid(r->pid, &status, WNOHANG) == 0) {
        if (th_now_ms() > deadline) fail_msg("client.py did not exit");
        th_sleep_ms(10);
    }
    r->pid = 0;
    code = th_exit_code(status);
    if (code != want) {
        fprintf(stderr, "client.py exited %d and printed:\n%s", code, r->out);
        th_log_tail(r->err_path, 20);
    }
    return code;
}

/* Copies the word after `label` in the run's output into buf[FL_ID_MAX]. */
static void py_word_after(const py_run *r, const char *label, char *buf)
{
    const char *p = py_line(r, label);
    size_t n;

    if (!p) fail_msg("no '%s' in:\n%s", label, r->out);
    p += strlen(label);
    n = strcspn(p, " :\n");
    assert_true(n > 0 && n < FL_ID_MAX);
    memcpy(buf, p, n);
    buf[n] = '\0';
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* The whole story: hello, wish.submit, the "assigned" event once a
 * volunteer claims the wish, ack, exit 0; the inbox is empty after. */
static void test_submit_event_ack(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* no offer: it claims */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    char token[TOKEN_MAX], port[16], lon[32], lat[32];
    char task[FL_ID_MAX], event[FL_ID_MAX], line[256];

    assert_int_equal(th_token(w->env, RESIDENT, ROLE_RESIDENT, FL_REGION, 600,
                              token, sizeof(token)),
                     0);
    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    snprintf(lon, sizeof(lon), "%.6f", FL_LON);
    snprintf(lat, sizeof(lat), "%.6f", FL_LAT);
    py_run *r = py_start(w->env,
                         (const char *const[]){"--port", port, "--token",
                                               token, "--lon", lon, "--lat",
                                               lat, "--wait", "10", NULL},
                         NULL);
    py_wait_line(r, "submitted: ");
    py_word_after(r, "submitted: ", task);
    fl_claim(v, task);

    assert_int_equal(py_finish(r, 0), 0);
    assert_non_null(
        strstr(r->out, "hello: " RESIDENT " (resident, " FL_REGION ") on "));
    py_word_after(r, "event ", event);
    snprintf(line, sizeof(line), "event %s: assigned %s by Li Lei\n", event,
             task);
    assert_non_null(strstr(r->out, line));
    snprintf(line, sizeof(line), "acked: %s\n", event);
    assert_non_null(strstr(r->out, line));
    assert_int_equal(
        th_redis_int(w->env, "LLEN {jinan}:inbox:%s", RESIDENT), 0);
}

/* A token that does not verify, given through $WISH_TOKEN: refused with
 * UNAUTHENTICATED, exit 1, nothing submitted. */
static void test_bad_token(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    char port[16];

    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    py_run *r = py_start(w->env, (const char *const[]){"--port", port, NULL},
                         "mw1.bm90LWEtdG9rZW4.c2lnbmF0dXJl");
    assert_int_equal(py_finish(r, 1), 1);
    assert_string_equal(r->out, "");
    assert_true(th_file_contains(r->err_path, "refused: UNAUTHENTICATED"));
}

/* Nothing listening: exit 69. */
static void test_unavailable(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    char port[16];
    int free_port = th_free_port();

    assert_true(free_port > 0);
    snprintf(port, sizeof(port), "%d", free_port);
    py_run *r = py_start(w->env,
                         (const char *const[]){"--port", port, "--token",
                                               "whatever", NULL},
                         NULL);
    assert_int_equal(py_finish(r, 69), 69);
    assert_true(th_file_contains(r->err_path, "wishd unavailable"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_submit_event_ack, fl_teardown),
        cmocka_unit_test_teardown(test_bad_token, fl_teardown),
        cmocka_unit_test_teardown(test_unavailable, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
