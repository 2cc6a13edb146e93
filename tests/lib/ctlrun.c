/* ctlrun.c -- the real wishctl as a child process; see
 * tests/integration/ctlrun.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/ctlrun.h"

#define RUN_MS 20000 /* deadline of one wishctl run */
#define ARGS_MAX 24

static char ctl_bin[TH_PATH_MAX];
static int ctl_port;

void ctl_use(fl_world *w)
{
    const char *dir = getenv("WISH_BIN");

    snprintf(ctl_bin, sizeof(ctl_bin), "%s/wishctl",
             dir && *dir ? dir : "./bin");
    if (access(ctl_bin, X_OK) < 0)
        fail_msg("%s: %s", ctl_bin, strerror(errno));
    ctl_port = fl_port(w, 0);
    unsetenv("WISH_TOKEN");
}

ctl_run ctl_tok(fl_world *w, const char *token, ...)
{
    const char *argv[ARGS_MAX];
    char portbuf[16];
    size_t n = 0;
    va_list ap;
    const char *arg;

    snprintf(portbuf, sizeof(portbuf), "%d", ctl_port);
    argv[n++] = ctl_bin;
    va_start(ap, token);
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < ARGS_MAX - 5);
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n++] = "--port";
    argv[n++] = portbuf;
    if (token) {
        argv[n++] = "--token";
        argv[n++] = token;
    }
    argv[n] = NULL;
    th_child *c = th_child_start(w->env, argv, &(th_child_opts){.input = ""});
    assert_non_null(c);
    int code = th_child_finish(c, RUN_MS);
    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    return (ctl_run){code, th_child_out(c, NULL), th_child_err(c)};
}

void ctl_expect_has(const char *s, const char *needle)
{
    if (!strstr(s, needle)) fail_msg("'%s' not in:\n%s", needle, s);
}

void ctl_expect_exit(const ctl_run *r, int want)
{
    if (r->status != want)
        fail_msg("wishctl exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
                 r->status, want, r->out, r->err);
}

void ctl_record_value(const char *out, const char *key, char *buf,
                      size_t size)
{
    size_t n = strlen(key);

    for (const char *p = out; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        if (strncmp(p, key, n) == 0 && p[n] == '\t') {
            p += n + 1;
            snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
            return;
        }
    }
    fail_msg("no %s in:\n%s", key, out);
}
