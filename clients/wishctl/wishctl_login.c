/* wishctl_login.c -- what `wishctl login` leaves behind and how it asks:
 * the stored log-in (one token file per user of the machine) and the
 * password prompt with echo off. See clients/wishctl/wishctl.h, "The
 * stored log-in and the password prompt".
 *
 * A password lives only in the caller's buffer: it is read with read(2)
 * a byte at a time, so no stdio buffer keeps a copy and a script's
 * second line stays unread for the next prompt, and callers wipe the
 * buffer (ctl_password_wipe()) once it is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "clients/wishctl/wishctl.h"

/* ========================================================================
 * The token file
 * ===================================================================== */

/* The directory of the token file into buf[size]: $XDG_CONFIG_HOME when
 * it is absolute (the XDG rule: a relative one is ignored), else
 * $HOME/.config, else the password database's home. Returns 0 or -1. */
static int ctl_store_config_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const struct passwd *pw;
    int n;

    if (xdg && xdg[0] == '/') {
        n = snprintf(buf, size, "%s", xdg);
    } else {
        if (!home || home[0] != '/') {
            pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || !*home) return -1;
        n = snprintf(buf, size, "%s/.config", home);
    }
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int ctl_store_path(char *buf, size_t size)
{
    char dir[4096];
    int n;

    if (ctl_store_config_dir(dir, sizeof(dir)) < 0) return -1;
    n = snprintf(buf, size, "%s/microwish/token", dir);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Sets the field key of *st from the text val. Unknown keys are skipped:
 * a later wishctl may store more. */
static void ctl_store_field(ctl_stored *st, const char *key, const char *val)
{
    if (strcmp(key, "host") == 0)
        snprintf(st->host, sizeof(st->host), "%s", val);
    else if (strcmp(key, "port") == 0)
        st->port = atoi(val);
    else if (strcmp(key, "token") == 0)
        snprintf(st->token, sizeof(st->token), "%s", val);
    else if (strcmp(key, "expires") == 0)
        st->expires = strtoll(val, NULL, 10);
    else if (strcmp(key, "user") == 0)
        snprintf(st->user, sizeof(st->user), "%s", val);
    else if (strcmp(key, "role") == 0)
        snprintf(st->role, sizeof(st->role), "%s", val);
    else if (strcmp(key, "region") == 0)
        snprintf(st->region, sizeof(st->region), "%s", val);
}

int ctl_store_load(ctl_stored *st)
{
    char path[4200], line[1024];
    FILE *f;

    memset(st, 0, sizeof(*st));
    if (ctl_store_path(path, sizeof(path)) < 0) return 1;
    if (!(f = fopen(path, "r"))) {
        if (errno == ENOENT) return 1;
        fprintf(stderr, "wishctl: cannot read the stored log-in %s: %s\n",
                path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');
        line[strcspn(line, "\r\n")] = '\0';
        if (!eq || line[0] == '#') continue;
        *eq = '\0';
        ctl_store_field(st, line, eq + 1);
    }
    fclose(f);
    OPENSSL_cleanse(line, sizeof(line));
    if (!st->token[0]) {
        fprintf(stderr, "wishctl: the stored log-in %s holds no token\n",
                path);
        return -1;
    }
    return 0;
}

/* mkdir(path, 0700), an existing directory being fine. Returns 0 or -1
 * (errno set). */
static int ctl_store_mkdir(const char *path)
{
    struct stat sb;

    if (mkdir(path, 0700) == 0) return 0;
    if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    return -1;
}

/* Writes the key=value lines of *st to fd. Returns 0 or -1. */
static int ctl_store_write(int fd, const ctl_stored *st)
{
    char text[2048];
    int n = snprintf(text, sizeof(text),
                     "# wishctl login: the stored log-in; "
                     "'wishctl logout' ends it\n"
                     "host=%s\nport=%d\nuser=%s\nrole=%s\nregion=%s\n"
                     "expires=%lld\ntoken=%s\n",
                     st->host, st->port, st->user, st->role, st->region,
                     (long long)st->expires, st->token);
    size_t off = 0;

    if (n < 0 || (size_t)n >= sizeof(text)) return -1;
    while (off < (size_t)n) {
        ssize_t w = write(fd, text + off, (size_t)n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            OPENSSL_cleanse(text, sizeof(text));
            return -1;
        }
        off += (size_t)w;
    }
    OPENSSL_cleanse(text, sizeof(text));
    return 0;
}

int ctl_store_save(const ctl_stored *st)
{
    char dir[4096], sub[4200], path[4200], tmp[4300];
    int fd, err = 0;

    if (ctl_store_config_dir(dir, sizeof(dir)) < 0 ||
        ctl_store_path(path, sizeof(path)) < 0) {
        fputs("wishctl: cannot store the log-in: no home directory "
              "(set HOME or XDG_CONFIG_HOME)\n",
              stderr);
        return -1;
    }
    snprintf(sub, sizeof(sub), "%s/microwish", dir);
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (ctl_store_mkdir(dir) < 0 || ctl_store_mkdir(sub) < 0) {
        fprintf(stderr, "wishctl: cannot make %s: %s\n", sub,
                strerror(errno));
        return -1;
    }
    /* 0600 at creation, and fchmod for a leftover temp file that had
     * another mode: the token is a password for as long as it lasts. */
    fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        fprintf(stderr, "wishctl: cannot write %s: %s\n", tmp,
                strerror(errno));
        return -1;
    }
    if (fchmod(fd, 0600) < 0 || ctl_store_write(fd, st) < 0 || fsync(fd) < 0)
        err = errno ? errno : EIO;
    if (close(fd) < 0 && !err) err = errno;
    /* rename() replaces the old file at once: never half a log-in. */
    if (!err && rename(tmp, path) < 0) err = errno;
    if (err) {
        unlink(tmp);
        fprintf(stderr, "wishctl: cannot write %s: %s\n", path,
                strerror(err));
        return -1;
    }
    return 0;
}

int ctl_store_remove(void)
{
    char path[4200];

    if (ctl_store_path(path, sizeof(path)) < 0) return 0;
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    fprintf(stderr, "wishctl: cannot remove %s: %s\n", path, strerror(errno));
    return -1;
}

/* The stored log-in of this run, read at the first ctl_store_token(). */
static ctl_stored ctl_store_cache;
static int ctl_store_state = -2; /* -2 unread; else ctl_store_load()'s */

const char *ctl_store_token(void)
{
    if (ctl_store_state == -2) ctl_store_state = ctl_store_load(&ctl_store_cache);
    return ctl_store_state == 0 ? ctl_store_cache.token : NULL;
}

bool ctl_store_is(const char *token)
{
    return token && ctl_store_state == 0 && token == ctl_store_cache.token;
}

/* ========================================================================
 * Passwords
 * ===================================================================== */

void ctl_password_wipe(char *buf, size_t size)
{
    OPENSSL_cleanse(buf, size);
}

/* The terminal whose echo is off while a password is typed, for the
 * signal handler to give back; -1 when none. */
static volatile sig_atomic_t ctl_tty_fd = -1;
static struct termios ctl_tty_saved;
static struct sigaction ctl_old_act[4];
static const int ctl_tty_sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* A signal while echo is off: echo back on, then die of the signal as
 * before (the old action is put back first). Async-signal-safe. */
static void ctl_tty_on_signal(int sig)
{
    if (ctl_tty_fd >= 0) {
        tcsetattr(ctl_tty_fd, TCSAFLUSH, &ctl_tty_saved);
        (void)!write(ctl_tty_fd, "\n", 1);
    }
    for (int i = 0; i < 4; i++)
        if (ctl_tty_sigs[i] == sig) sigaction(sig, &ctl_old_act[i], NULL);
    raise(sig);
}

/* Reads one line from fd into buf[size] with read(2), one byte at a
 * time (nothing past the line is consumed). Returns its length without
 * the line end; -1 at end of input before any byte or on an error;
 * -2 when it is longer than CTL_PASSWORD_MAX (the rest of the line is
 * read and dropped). */
static int ctl_line_read(int fd, char *buf, size_t size)
{
    size_t n = 0;
    bool any = false, long_line = false;
    char ch;

    for (;;) {
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        any = true;
        if (ch == '\n') break;
        if (n + 1 < size && n < CTL_PASSWORD_MAX)
            buf[n++] = ch;
        else
            long_line = true;
    }
    ch = 0;
    if (n > 0 && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
    if (!any) return -1;
    return long_line ? -2 : (int)n;
}

/* Asks on the terminal fd with echo off. Returns as ctl_line_read(). */
static int ctl_tty_read(int fd, const char *prompt, char *buf, size_t size)
{
    struct termios quiet;
    struct sigaction act;
    int n;

    if (tcgetattr(fd, &ctl_tty_saved) < 0) return ctl_line_read(fd, buf, size);
    quiet = ctl_tty_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    memset(&act, 0, sizeof(act));
    act.sa_handler = ctl_tty_on_signal;
    sigemptyset(&act.sa_mask);
    /* A signal ignored (nohup, a background job) stays ignored. */
    for (int i = 0; i < 4; i++)
        if (sigaction(ctl_tty_sigs[i], NULL, &ctl_old_act[i]) == 0 &&
            ctl_old_act[i].sa_handler != SIG_IGN)
            sigaction(ctl_tty_sigs[i], &act, NULL);
    (void)!write(fd, prompt, strlen(prompt));
    ctl_tty_fd = fd;
    tcsetattr(fd, TCSAFLUSH, &quiet);
    n = ctl_line_read(fd, buf, size);
    tcsetattr(fd, TCSAFLUSH, &ctl_tty_saved);
    ctl_tty_fd = -1;
    for (int i = 0; i < 4; i++)
        sigaction(ctl_tty_sigs[i], &ctl_old_act[i], NULL);
    /* The Enter typed was not echoed: end the prompt's line. */
    (void)!write(fd, "\n", 1);
    return n;
}

/* Says why a read password is refused. Returns -1. */
static int ctl_password_bad(int n)
{
    if (n == -1)
        fputs("wishctl: no password (end of input)\n", stderr);
    else if (n == -2)
        fprintf(stderr, "wishctl: password: at most %d bytes\n",
                CTL_PASSWORD_MAX);
    else
        fputs("wishctl: password: empty\n", stderr);
    return -1;
}

/* Opens the controlling terminal for a prompt, or -1 when stdin is to be
 * read (from_stdin, or no terminal). */
static int ctl_tty_open(bool from_stdin)
{
    return from_stdin ? -1 : open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int ctl_password_read(const char *prompt, bool from_stdin, char *buf,
                      size_t size)
{
    int fd = ctl_tty_open(from_stdin), n;

    if (fd >= 0) {
        n = ctl_tty_read(fd, prompt, buf, size);
        close(fd);
    } else {
        n = ctl_line_read(STDIN_FILENO, buf, size);
    }
    return n > 0 ? n : ctl_password_bad(n);
}

int ctl_password_new(const char *prompt, bool from_stdin, size_t min,
                     char *buf, size_t size)
{
    char again[CTL_PASSWORD_MAX + 2];
    int fd = ctl_tty_open(from_stdin), n, m = 0;

    if (fd < 0) {
        n = ctl_line_read(STDIN_FILENO, buf, size);
    } else {
        n = ctl_tty_read(fd, prompt, buf, size);
        if (n > 0)
            m = ctl_tty_read(fd, "再输一次 / again: ", again, sizeof(again));
        close(fd);
    }
    if (n <= 0) return ctl_password_bad(n);
    if (fd >= 0 && (m != n || strcmp(buf, again) != 0)) {
        ctl_password_wipe(again, sizeof(again));
        fputs("wishctl: the passwords do not match\n", stderr);
        return -1;
    }
    ctl_password_wipe(again, sizeof(again));
    if ((size_t)n < min) {
        fprintf(stderr, "wishctl: password: at least %zu bytes\n", min);
        return -1;
    }
    return n;
}
