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

/* True when the request's Accept-Encoding takes gzip: a "gzip" (or
 * "x-gzip") coding whose q is not 0 (RFC 9110, 12.5.3). "*" is not
 * taken as gzip: a client that says only that gets the file as it is. */
static bool static_accepts_gzip(struct evhttp_request *req)
{
    const char *ae = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Accept-Encoding");
    if (ae == NULL) return false;
    while (*ae != '\0') {
        ae += strspn(ae, " \t,");
        size_t item = strcspn(ae, ","), name = strcspn(ae, ";, \t");
        if (name > item) name = item;
        if ((name == 4 && strncasecmp(ae, "gzip", 4) == 0) ||
            (name == 6 && strncasecmp(ae, "x-gzip", 6) == 0)) {
            const char *q = ae + name;
            double weight = 1.0;
            while (q < ae + item && (q = strchr(q, ';')) != NULL &&
                   q < ae + item) {
                q += 1 + strspn(q + 1, " \t");
                if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
                    weight = strtod(q + 2, NULL);
            }
            return weight > 0.0;
        }
        ae += item;
    }
    return false;
}

/* The build's gzip twin of the file at real (real + ".gz", written by
 * clients/web/tools/gzip.mjs): its real path into gz[PATH_MAX] and its
 * stat into *gst. Returns 0 when it is a regular file inside the root
 * and no older than the file itself (an edited file is never served from
 * a stale twin), else -1. */
static int static_gzip_twin(const char *root, const char *real,
                            const struct stat *st, char *gz,
                            struct stat *gst)
{
    char root_real[PATH_MAX], name[PATH_MAX];
    int n = snprintf(name, sizeof(name), "%s.gz", real);
    if (n < 0 || (size_t)n >= sizeof(name)) return -1;
    if (realpath(root, root_real) == NULL || realpath(name, gz) == NULL ||
        stat(gz, gst) != 0 || !S_ISREG(gst->st_mode) ||
        gst->st_size > STATIC_MAX_FILE)
        return -1;
    size_t rl = strlen(root_real);
    if (strncmp(gz, root_real, rl) != 0 || gz[rl] != '/') return -1;
    if (gst->st_mtim.tv_sec < st->st_mtim.tv_sec ||
        (gst->st_mtim.tv_sec == st->st_mtim.tv_sec &&
         gst->st_mtim.tv_nsec < st->st_mtim.tv_nsec))
        return -1;
    return 0;
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
    /* vite names what it puts in /assets/ by a hash of the content: a
     * new build makes new names, so these never need revalidating. */
    bool hashed = strncmp(decoded, "/assets/", 8) == 0;
    free(decoded);

    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    /* The gzip twin when there is one and the client takes it: a phone
     * loads the volunteer page's 128 KB of JS and CSS as about 33 KB. */
    char gz[PATH_MAX];
    struct stat gst;
    bool twin = static_gzip_twin(cfg->web_root, real, &st, gz, &gst) == 0;
    bool zipped = twin && static_accepts_gzip(req);
    const struct stat *sent = zipped ? &gst : &st;
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (long long)sent->st_size,
             (long long)sent->st_mtim.tv_sec * 1000000000LL +
                 sent->st_mtim.tv_nsec,
             zipped ? "-gz" : "");
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    if (twin) evhttp_add_header(out, "Vary", "Accept-Encoding");
    /* The other files keep their names from build to build: revalidate
     * (cheap, a 304). */
    evhttp_add_header(out, "Cache-Control",
                      hashed ? "public, max-age=31536000, immutable"
                             : "no-cache");
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
    if (zipped) evhttp_add_header(out, "Content-Encoding", "gzip");
    struct evbuffer *body = evbuffer_new();
    int fd = open(zipped ? gz : real, O_RDONLY | O_CLOEXEC);
    if (body == NULL || fd < 0 ||
        evbuffer_add_file(body, fd, 0, sent->st_size) != 0) {
        /* Once handed to evbuffer_add_file() the fd is the buffer's. */
        if (fd >= 0 && body == NULL) close(fd);
        if (body != NULL) evbuffer_free(body);
        static_not_found(req);
        return;
    }
    http_send_reply(req, 200, "OK", body); /* HEAD: the length only */
    evbuffer_free(body);
}
