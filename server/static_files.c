/* static_files.c -- web-root's files over HTTP; see static_files.h. */
#include "server/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "server/http.h"

#define STATIC_MAX_FILE (64L << 20) /* bytes: a built app is far less */

static const struct {
    const char *ext;
    const char *type;
} static_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

/* The Content-Type of a file name; bytes when the extension is unknown
 * (never sniffed: X-Content-Type-Options is nosniff). */
static const char *static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]);
             i++)
            if (strcasecmp(dot, static_types[i].ext) == 0)
                return static_types[i].type;
    return "application/octet-stream";
}

/* True when a decoded path is plain: "/" then segments that are neither
 * empty, "." nor "..", with no backslash. */
static bool static_plain(const char *p, size_t len)
{
    if (len == 0 || p[0] != '/' || memchr(p, '\\', len) != NULL) return false;
    for (size_t i = 1; i < len;) {
        size_t seg = strcspn(p + i, "/");
        if (i + seg > len) seg = len - i;
        if ((seg == 0 && i + seg < len) || (seg == 1 && p[i] == '.') ||
            (seg == 2 && p[i] == '.' && p[i + 1] == '.'))
            return false;
        i += seg + 1;
    }
    return true;
}

static void static_not_found(struct evhttp_request *req)
{
    struct evbuffer *body = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body != NULL) evbuffer_add_printf(body, "not found\n");
    http_send_reply(req, 404, "Not Found", body);
    if (body != NULL) evbuffer_free(body);
}

/* Resolves the decoded path under the root into real[PATH_MAX], adding
 * index.html for a directory. Returns 0 with *st set for a regular file
 * inside the root, else -1. */
static int static_resolve(const char *root, const char *decoded,
                          char *real, struct stat *st)
{
    char root_real[PATH_MAX], joined[PATH_MAX];
    if (realpath(root, root_real) == NULL) return -1;
    int n = snprintf(joined, sizeof(joined), "%s%s", root_real, decoded);
    if (n < 0 || (size_t)n >= sizeof(joined)) return -1;
    if (realpath(joined, real) == NULL || stat(real, st) != 0) return -1;
    if (S_ISDIR(st->st_mode)) {
        size_t len = strlen(real);
        if (len + sizeof("/index.html") > PATH_MAX) return -1;
        memcpy(real + len, "/index.html", sizeof("/index.html"));
        char again[PATH_MAX];
        if (realpath(real, again) == NULL || stat(again, st) != 0) return -1;
        memcpy(real, again, strlen(again) + 1);
    }
    /* Inside the root after every symbolic link is resolved. */
    size_t rl = strlen(root_real);
    if (strncmp(real, root_real, rl) != 0 ||
        (real[rl] != '/' && real[rl] != '\0'))
        return -1;
    return S_ISREG(st->st_mode) && st->st_size <= STATIC_MAX_FILE ? 0 : -1;
}

int static_default_root(const char *exe, char *out, size_t size)
{
    static const char *const rel[] = {"/../share/microwish/web",
                                      "/../build/web"};
    char self[PATH_MAX], dir[PATH_MAX], index[PATH_MAX + 16];
    if (size > 0) out[0] = '\0';
    if (exe == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) return -1;
        self[n] = '\0';
    } else if (realpath(exe, self) == NULL) {
        return -1;
    }
    char *slash = strrchr(self, '/');
    if (slash == NULL) return -1;
    *slash = '\0'; /* the directory of the program */
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        struct stat st;
        int n = snprintf(dir, sizeof(dir), "%s%s", self, rel[i]);
        if (n < 0 || (size_t)n >= sizeof(dir)) continue;
        snprintf(index, sizeof(index), "%s/index.html", dir);
        if (stat(index, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (realpath(dir, index) == NULL || strlen(index) >= size) continue;
        memcpy(out, index, strlen(index) + 1);
        return 0;
    }
    return -1;
}

void static_serve(const wish_config *cfg, struct evhttp_request *req,
                  const char *path)
{
    size_t dlen = 0;
    char *decoded = cfg->web_root[0] != '\0'
                        ? evhttp_uridecode(path, 0, &dlen)
                        : NULL;
    char real[PATH_MAX];
    struct stat st;
    if (decoded == NULL || strlen(decoded) != dlen ||
        !static_plain(decoded, dlen) ||
        static_resolve(cfg->web_root, decoded, real, &st) != 0) {
        free(decoded);
        static_not_found(req);
        return;
    }
    free(decoded);

    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (long long)st.st_size,
             (long long)st.st_mtim.tv_sec * 1000000000LL +
                 st.st_mtim.tv_nsec);
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    /* The apps' files change with each build: revalidate (cheap, 304). */
    evhttp_add_header(out, "Cache-Control", "no-cache");
    const char *inm = evhttp_find_header(
        evhttp_request_get_input_headers(req), "If-None-Match");
    if (inm != NULL && strstr(inm, etag) != NULL) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    const char *type = static_type(real);
    evhttp_add_header(out, "Content-Type", type);
    if (strncmp(type, "text/html", 9) == 0) {
        /* tile-origin was checked at start (config_check_origin): an
         * origin with nothing that could end the directive. */
        char csp[CONFIG_STR_MAX + 128];
        snprintf(csp, sizeof(csp),
                 "default-src 'self'; img-src 'self' data:%s%s; "
                 "frame-ancestors 'none'; base-uri 'none'",
                 cfg->tile_origin[0] != '\0' ? " " : "", cfg->tile_origin);
        evhttp_add_header(out, "Content-Security-Policy", csp);
        evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    }
    struct evbuffer *body = evbuffer_new();
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (body == NULL || fd < 0 ||
        evbuffer_add_file(body, fd, 0, st.st_size) != 0) {
        /* Once handed to evbuffer_add_file() the fd is the buffer's. */
        if (fd >= 0 && body == NULL) close(fd);
        if (body != NULL) evbuffer_free(body);
        static_not_found(req);
        return;
    }
    http_send_reply(req, 200, "OK", body); /* HEAD: the length only */
    evbuffer_free(body);
}
