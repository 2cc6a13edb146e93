/* log.c -- see log.h. */
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_names[] = {"debug", "info", "warning", "error"};

static struct {
    FILE *file; /* NULL: stderr */
    char path[512];
    int level;
} log_state = {NULL, "", LOG_INFO};

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, log_names[i]) == 0) return i;
    if (strcmp(name, "warn") == 0) return LOG_WARNING;
    return -1;
}

const char *log_level_name(int level)
{
    return (level >= 0 && level < 4) ? log_names[level] : "unknown";
}

int log_open(const char *path, int level)
{
    log_close();
    log_state.level = level;
    if (path == NULL || path[0] == '\0') return 0;
    snprintf(log_state.path, sizeof(log_state.path), "%s", path);
    log_state.file = fopen(path, "a");
    if (log_state.file == NULL) return -1;
    setvbuf(log_state.file, NULL, _IOLBF, 0);
    return 0;
}

void log_reopen(void)
{
    if (log_state.file == NULL) return;
    FILE *f = fopen(log_state.path, "a");
    if (f == NULL) {
        log_error("cannot reopen log file %s; keeping the old one",
                  log_state.path);
        return;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(log_state.file);
    log_state.file = f;
    log_info("log file reopened");
}

void log_close(void)
{
    if (log_state.file != NULL) fclose(log_state.file);
    log_state.file = NULL;
    log_state.path[0] = '\0';
}

int log_enabled(int level)
{
    return level >= log_state.level;
}

void log_msg(int level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    /* Format the whole line first so it reaches the file in one write and
     * lines of a busy daemon never interleave. */
    char line[2048];
    int n = snprintf(line, sizeof(line), "%s.%03ldZ %d %s ", when,
                     (long)(tv.tv_usec / 1000), (int)getpid(),
                     log_level_name(level));
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line) - 1) n = sizeof(line) - 2;
    line[n++] = '\n';

    FILE *out = log_state.file ? log_state.file : stderr;
    fwrite(line, 1, (size_t)n, out);
    fflush(out);
}
