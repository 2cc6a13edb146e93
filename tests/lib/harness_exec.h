/* harness_exec.h -- what the harness's own files share and tests do not
 * use: the child side of every process the harness starts (redis-server
 * and wishd in harness.c, commands under test in harness_child.c). */
#ifndef MICROWISH_TESTS_HARNESS_EXEC_H
#define MICROWISH_TESTS_HARNESS_EXEC_H

#include <sys/types.h>

/* In the child after fork(), async-signal-safe only; never returns. Sets
 * up what harness.h promises for every process it starts (the default
 * SIGPIPE, SIGTERM, SIGINT and SIGHUP, an empty signal mask,
 * PR_SET_PDEATHSIG=SIGKILL, exit at once if `parent` already died), puts
 * in, out and err on 0, 1 and 2 (in < 0: stdin left as it is), closes
 * every other descriptor and executes argv[0], looked up in PATH, with
 * envp. A failed exec writes a line to stderr and exits 127. */
void th_exec_child(pid_t parent, int in, int out, int err,
                   const char *const *argv, char *const *envp)
    __attribute__((noreturn));

#endif
