/* log.h -- wishd's log: one line per event, "time pid level message".
 *
 * The log is the one piece of process-wide state outside main.c: like
 * stderr itself, every module writes to it and none should have to carry
 * a handle around. It is not thread-safe; wishd has one thread.
 */
#ifndef WISHD_LOG_H
#define WISHD_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Parses "debug", "info", "warning" (or "warn"), "error"; returns the
 * level or -1. */
int log_level_parse(const char *name);

/* Returns the name of a level ("info"). */
const char *log_level_name(int level);

/* Directs the log to `path` (appending), or to stderr when path is NULL or
 * empty, and keeps lines below `level` out. Returns 0, or -1 when the file
 * cannot be opened (the log then stays on stderr). */
int log_open(const char *path, int level);

/* Closes and reopens the log file, for rotation (SIGHUP). A failure keeps
 * the old file open and is logged. */
void log_reopen(void);

/* Closes the log file, if any; later lines go to stderr. */
void log_close(void);

/* True when a line at `level` would be written. */
int log_enabled(int level);

/* Writes one line at `level`, printf-style; a trailing newline is added. */
void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
