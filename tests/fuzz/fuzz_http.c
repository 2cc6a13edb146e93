/* fuzz_http.c -- libFuzzer target for wishd's HTTP port: evhttp's request
 * parser as http.c configures it, the routes (/healthz, /readyz, /ws,
 * web-root's files), the WebSocket upgrade, wslay's frame reader and
 * conn_take_ws_message().
 *
 * One wish_server is built once as main.c builds it, with a store that
 * never connects (as in fuzz_dispatch.c: every Lua method is answered
 * UNAVAILABLE at once, password workers take no job) and the HTTP port
 * on a free loopback port (http_start()), web-root a small directory
 * made here (an index, a file, a subdirectory, a symbolic link out of
 * it). Each input then plays one TCP client of that port:
 *
 *   byte 0   bits 0-1, the mode:
 *              0, 3  raw: the rest is what the client sends (requests,
 *                    pipelined or not; an upgrade of its own)
 *              1     a valid WebSocket upgrade by the harness, then the
 *                    rest as the client's WebSocket bytes (frames the
 *                    input must mask itself)
 *              2     the upgrade, then the rest as records the harness
 *                    frames: [b0][len hi][len lo][payload]: one masked
 *                    frame whose first byte is b0 (FIN, RSV, opcode as
 *                    the input says), the payload cut to what is left
 *            bit 2 (modes 1, 2): the harness says hello first, in a
 *            binary frame, with a coordinator token it minted; its
 *            answer must be hello's success.
 *   byte 1   how the stream is cut into writes: 0 all at once, else the
 *            seed of chunk sizes of 1..64 bytes (the upgrade request is
 *            cut too: frames may arrive with its last bytes).
 *   rest     as the mode says.
 *
 * The harness writes the stream over loopback TCP, running the event
 * loop with EVLOOP_NONBLOCK a bounded number of times and reading what
 * wishd answers, then half-closes and runs the loop until wishd has
 * closed its end and holds no connection (srv->nconns 0): the client
 * seeing EOF means evhttp's connection, or the WebSocket session and the
 * evhttp shell under it, has been freed (the socket closes with them),
 * so libFuzzer's leak check after each input sees whatever the input
 * made and did not free.
 *
 * What wishd wrote must read as HTTP responses (a status line, headers,
 * a body of Content-Length bytes; never 500), in modes 1 and 2 first the
 * 101 with the right Sec-WebSocket-Accept, and after a 101 as WebSocket
 * frames from a server: unmasked, no RSV bits, no text, control frames
 * short and whole, nothing after a close, close code never 1011; each
 * binary message exactly one MessagePack-RPC message (a response or a
 * notification) whose error code, if any, is never INTERNAL.
 *
 * The log goes to /dev/null at debug level; FUZZ_HTTP_LOG=stderr shows
 * it, and FUZZ_HTTP_DUMP=1 writes what wishd answered to stderr. Regression files for bugs found here go to tests/fuzz/corpus_http/
 * named after the bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "proto/proto.h"
#include "proto/token.h"
#include "server/acctfeed.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/events.h"
#include "server/fcall.h"
#include "server/http.h"
#include "server/kdf.h"
#include "server/log.h"
#include "server/peers.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "server/store.h"
#include "server/sweeper.h"
#include "server/watch.h"
#include "tests/fuzz/fuzz_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HTTP_FUZZ_CHECK(cond) FUZZ_CHECK("fuzz_http", cond)

#define HTTP_FUZZ_HELLO_MSGID 4000000001u
#define HTTP_FUZZ_HEADER 2
/* The key of the harness's upgrade (RFC 6455's example) and its accept. */
#define HTTP_FUZZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HTTP_FUZZ_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/* Event-loop passes: while writing, per byte at most (plus slack), and
 * after the half-close, before wishd must have let the connection go. */
#define HTTP_FUZZ_SLACK 10000
#define HTTP_FUZZ_CLOSE_PASSES 20000

enum http_fuzz_mode { HTTP_FUZZ_RAW, HTTP_FUZZ_WS_BYTES, HTTP_FUZZ_WS_FRAMED };

/* The one server: the harness plays main.c (server.h). */
static wish_server http_fuzz_srv;
static struct sockaddr_in http_fuzz_addr; /* where its HTTP port listens */
static char http_fuzz_root[64];           /* web-root, removed at exit */

/* server.h: called by conn.c when a connection goes while stopping; the
 * harness never stops. */
void server_conn_gone(wish_server *srv)
{
    (void)srv;
}

/* ------------------------------------------------------------------------
 * The server, once
 * --------------------------------------------------------------------- */

static void http_fuzz_write_file(const char *rel, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", http_fuzz_root, rel);
    FILE *f = fopen(path, "w");
    HTTP_FUZZ_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void http_fuzz_remove_root(void)
{
    static const char *const rel[] = {"index.html", "app.js", "sub/index.html",
                                      "out", "sub"};
    char path[160];
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", http_fuzz_root, rel[i]);
        if (unlink(path) != 0) rmdir(path);
    }
    rmdir(http_fuzz_root);
}

/* web-root: the files a static path may reach, and "out", a symbolic link
 * to /etc that static_files.c must refuse to follow out of web-root. */
static void http_fuzz_make_root(wish_config *cfg)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(http_fuzz_root, sizeof(http_fuzz_root), "%s/fuzz_http.XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    HTTP_FUZZ_CHECK(mkdtemp(http_fuzz_root) != NULL);
    atexit(http_fuzz_remove_root);
    char path[160];
    snprintf(path, sizeof(path), "%s/sub", http_fuzz_root);
    HTTP_FUZZ_CHECK(mkdir(path, 0700) == 0);
    http_fuzz_write_file("index.html", "<!doctype html><title>w</title>\n");
    http_fuzz_write_file("app.js", "console.log(1);\n");
    http_fuzz_write_file("sub/index.html", "<p>sub</p>\n");
    snprintf(path, sizeof(path), "%s/out", http_fuzz_root);
    HTTP_FUZZ_CHECK(symlink("/etc", path) == 0);
    snprintf(cfg->web_root, sizeof(cfg->web_root), "%s", http_fuzz_root);
}

/* A loopback port that was free a moment ago (http_start() takes a port
 * number, 0 meaning off; another process could take it in between, so
 * the caller tries a few). */
static int http_fuzz_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    HTTP_FUZZ_CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    HTTP_FUZZ_CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    HTTP_FUZZ_CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wish_server *srv = &http_fuzz_srv;
    (void)argc;
    (void)argv;
    fuzz_server_defaults(srv, "FUZZ_HTTP_LOG");
    snprintf(srv->cfg.http_bind, sizeof(srv->cfg.http_bind), "127.0.0.1");
    http_fuzz_make_root(&srv->cfg);
    /* Per-input tables stay small (fuzz_server_tables). */
    srv->cfg.rate_table_max = 16;
    proto_limits_default(&srv->limits);
    srv->limits.max_frame = (size_t)srv->cfg.max_frame;

    fuzz_server_start(srv, "fuzz_http");

    int tries = 0;
    for (;;) {
        srv->cfg.http_port = http_fuzz_free_port();
        if (http_start(srv) == 0) break;
        http_free(srv);
        HTTP_FUZZ_CHECK(++tries < 20);
    }
    http_fuzz_addr.sin_family = AF_INET;
    http_fuzz_addr.sin_port = htons((uint16_t)srv->cfg.http_port);
    http_fuzz_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return 0;
}

/* ------------------------------------------------------------------------
 * The stream
 * --------------------------------------------------------------------- */

typedef struct http_fuzz_buf {
    uint8_t *data;
    size_t len, cap;
} http_fuzz_buf;

static void http_fuzz_put(http_fuzz_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        b->data = realloc(b->data, cap);
        HTTP_FUZZ_CHECK(b->data != NULL);
        b->cap = cap;
    }
    if (n > 0) memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* Appends one client frame: first byte b0, masked with a key of `seed`
 * (clients must mask; RFC 6455 5.3). */
static void http_fuzz_frame(http_fuzz_buf *b, uint8_t b0, const uint8_t *p,
                            size_t n, uint32_t seed)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = b0;
    if (n < 126) {
        hdr[h++] = 0x80 | (uint8_t)n;
    } else if (n < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(n >> 8);
        hdr[h++] = (uint8_t)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) hdr[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint8_t key[4] = {(uint8_t)(seed >> 24), (uint8_t)(seed >> 16),
                      (uint8_t)(seed >> 8), (uint8_t)seed | 1};
    memcpy(hdr + h, key, 4);
    h += 4;
    http_fuzz_put(b, hdr, h);
    size_t at = b->len;
    http_fuzz_put(b, p, n);
    for (size_t i = 0; i < n; i++) b->data[at + i] ^= key[i % 4];
}

/* hello [0, HELLO_MSGID, "hello", [{token}]] as a coordinator, in one
 * binary frame. */
static void http_fuzz_hello(http_fuzz_buf *b)
{
    token_claims cl = {.role = ROLE_COORDINATOR, .issued = 1700000000,
                       .expires = 4102444800};
    snprintf(cl.user, sizeof(cl.user), "c1");
    snprintf(cl.region, sizeof(cl.region), "jinan/lixia");
    char token[TOKEN_MAX + 1];
    HTTP_FUZZ_CHECK(token_mint((const unsigned char *)FUZZ_SERVER_SECRET,
                               strlen(FUZZ_SERVER_SECRET), &cl, token,
                               sizeof(token)) == 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_request_begin(&pk, HTTP_FUZZ_HELLO_MSGID, "hello");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "token");
    proto_pack_cstr(&pk, token);
    http_fuzz_frame(b, 0x82, (const uint8_t *)sb.data, sb.size, 0x5eed1234);
    msgpack_sbuffer_destroy(&sb);
}

/* Makes what the client sends for this input. */
static void http_fuzz_stream(enum http_fuzz_mode mode, bool hello,
                             const uint8_t *rest, size_t n, http_fuzz_buf *b)
{
    if (mode == HTTP_FUZZ_RAW) {
        http_fuzz_put(b, rest, n);
        return;
    }
    static const char upgrade[] = "GET /ws HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: " HTTP_FUZZ_KEY "\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
    http_fuzz_put(b, upgrade, sizeof(upgrade) - 1);
    if (hello) http_fuzz_hello(b);
    if (mode == HTTP_FUZZ_WS_BYTES) {
        http_fuzz_put(b, rest, n);
        return;
    }
    uint32_t seed = 0x9e3779b9u;
    for (size_t off = 0; off + 3 <= n;) {
        uint8_t b0 = rest[off];
        size_t len = (size_t)rest[off + 1] << 8 | rest[off + 2];
        off += 3;
        if (len > n - off) len = n - off;
        seed = seed * 1103515245u + 12345u;
        http_fuzz_frame(b, b0, rest + off, len, seed);
        off += len;
    }
}

/* ------------------------------------------------------------------------
 * What wishd must answer
 * --------------------------------------------------------------------- */

/* [code, message]; the code, which is never INTERNAL. */
static int64_t http_fuzz_error_pair(const msgpack_object *e)
{
    HTTP_FUZZ_CHECK(e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2);
    const msgpack_object *code = &e->via.array.ptr[0];
    HTTP_FUZZ_CHECK(code->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    HTTP_FUZZ_CHECK(e->via.array.ptr[1].type == MSGPACK_OBJECT_STR);
    HTTP_FUZZ_CHECK(code->via.u64 != PROTO_INTERNAL);
    return (int64_t)code->via.u64;
}

/* One binary message from wishd: exactly one MessagePack-RPC response or
 * notification. `first_hello`: it is the first, and answers the
 * harness's hello, which must have succeeded. */
static void http_fuzz_check_msg(const uint8_t *p, size_t n, bool first_hello)
{
    proto_limits lim;
    proto_limits_default(&lim);
    lim.max_frame = 1 << 20; /* wishd's answers are far smaller */
    proto_reader *r = proto_reader_new(&lim);
    HTTP_FUZZ_CHECK(r != NULL);
    HTTP_FUZZ_CHECK(proto_reader_feed(r, p, n) == n);
    proto_msg m;
    proto_error err;
    HTTP_FUZZ_CHECK(proto_reader_next(r, &m, &err) == 1);
    HTTP_FUZZ_CHECK(proto_reader_pending(r) == 0);
    if (m.type == PROTO_MSG_RESPONSE) {
        if (m.error->type != MSGPACK_OBJECT_NIL) {
            http_fuzz_error_pair(m.error);
            HTTP_FUZZ_CHECK(m.result->type == MSGPACK_OBJECT_NIL);
        }
        if (first_hello) {
            HTTP_FUZZ_CHECK(m.msgid == HTTP_FUZZ_HELLO_MSGID);
            HTTP_FUZZ_CHECK(m.error->type == MSGPACK_OBJECT_NIL);
            HTTP_FUZZ_CHECK(m.result->type == MSGPACK_OBJECT_MAP);
        }
    } else {
        HTTP_FUZZ_CHECK(m.type == PROTO_MSG_NOTIFY && !first_hello);
        if (m.method_len == 5 && memcmp(m.method, "error", 5) == 0) {
            HTTP_FUZZ_CHECK(m.params->via.array.size == 1);
            http_fuzz_error_pair(&m.params->via.array.ptr[0]);
        }
    }
    proto_reader_free(r);
}

/* Reads p[len] as WebSocket frames from a server. */
static void http_fuzz_check_frames(const uint8_t *p, size_t len, bool hello)
{
    http_fuzz_buf msg = {0};
    bool in_msg = false, closed = false;
    size_t nmsgs = 0;
    for (size_t off = 0; off < len;) {
        HTTP_FUZZ_CHECK(!closed); /* nothing after a close frame */
        HTTP_FUZZ_CHECK(len - off >= 2);
        uint8_t b0 = p[off], b1 = p[off + 1];
        bool fin = b0 & 0x80;
        unsigned op = b0 & 0x0f;
        HTTP_FUZZ_CHECK((b0 & 0x70) == 0); /* no extension: no RSV bits */
        HTTP_FUZZ_CHECK((b1 & 0x80) == 0); /* a server never masks */
        uint64_t n = b1 & 0x7f;
        size_t h = 2;
        if (n == 126) {
            HTTP_FUZZ_CHECK(len - off >= 4);
            n = (uint64_t)p[off + 2] << 8 | p[off + 3];
            HTTP_FUZZ_CHECK(n >= 126); /* shortest form (RFC 6455 5.2) */
            h = 4;
        } else if (n == 127) {
            HTTP_FUZZ_CHECK(len - off >= 10);
            n = 0;
            for (int i = 0; i < 8; i++) n = n << 8 | p[off + 2 + i];
            HTTP_FUZZ_CHECK(n >= 65536);
            h = 10;
        }
        HTTP_FUZZ_CHECK(n <= len - off - h); /* whole frames only */
        const uint8_t *pay = p + off + h;
        off += h + (size_t)n;
        switch (op) {
        case 0x0: /* continuation */
            HTTP_FUZZ_CHECK(in_msg);
            http_fuzz_put(&msg, pay, (size_t)n);
            break;
        case 0x2: /* binary */
            HTTP_FUZZ_CHECK(!in_msg);
            in_msg = true;
            msg.len = 0;
            http_fuzz_put(&msg, pay, (size_t)n);
            break;
        case 0x8: { /* close: [code][reason] */
            HTTP_FUZZ_CHECK(fin && n <= 125 && n != 1);
            if (n >= 2) {
                unsigned code = (unsigned)pay[0] << 8 | pay[1];
                HTTP_FUZZ_CHECK(code >= 1000 && code < 5000 && code != 1011);
            }
            closed = true;
            continue;
        }
        case 0x9: /* ping */
        case 0xa: /* pong */
            HTTP_FUZZ_CHECK(fin && n <= 125);
            continue;
        default: /* text (wishd sends none), reserved opcodes */
            HTTP_FUZZ_CHECK(op == 0x2);
        }
        if (fin && in_msg) {
            http_fuzz_check_msg(msg.data, msg.len, hello && nmsgs == 0);
            nmsgs++;
            in_msg = false;
        }
    }
    HTTP_FUZZ_CHECK(!in_msg);
    free(msg.data);
}

/* The value of header `name` in the header block h[n], or NULL; *vlen set. */
static const uint8_t *http_fuzz_header(const uint8_t *h, size_t n,
                                       const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (size_t off = 0; off < n;) {
        const uint8_t *eol = memmem(h + off, n - off, "\r\n", 2);
        size_t line = eol != NULL ? (size_t)(eol - (h + off)) : n - off;
        if (line > nl && h[off + nl] == ':' &&
            strncasecmp((const char *)h + off, name, nl) == 0) {
            size_t v = off + nl + 1;
            while (v < off + line && h[v] == ' ') v++;
            *vlen = off + line - v;
            return h + v;
        }
        off += line + 2;
    }
    return NULL;
}

/* Reads out[len] as HTTP responses, then, after a 101, as WebSocket
 * frames. `ws`: the harness upgraded (the first response is its 101);
 * `hello`: its hello went first. */
static void http_fuzz_check_output(const uint8_t *p, size_t len, bool ws,
                                   bool hello)
{
    bool first = true;
    size_t off = 0;
    HTTP_FUZZ_CHECK(!ws || len > 0); /* the harness's upgrade is answered */
    while (off < len) {
        /* HTTP/<major>.<minor> NNN <reason>\r\n ... \r\n\r\n; evhttp
         * echoes the request's version as sscanf("%d.%d") read it, so a
         * request of "HTTP/-1.1" gets "HTTP/-1.1 200 OK": signs pass. */
        const uint8_t *end = memmem(p + off, len - off, "\r\n\r\n", 4);
        HTTP_FUZZ_CHECK(end != NULL);
        size_t hlen = (size_t)(end - (p + off)) + 4;
        const char *s = (const char *)p + off;
        const uint8_t *s_hdr = p + off;
        size_t i = 5;
        HTTP_FUZZ_CHECK(hlen > 16 && memcmp(s, "HTTP/", 5) == 0);
        if (s[i] == '-' || s[i] == '+') i++;
        size_t j = i;
        while (i < hlen && s[i] >= '0' && s[i] <= '9') i++;
        HTTP_FUZZ_CHECK(i > j && s[i] == '.');
        if (s[++i] == '-' || s[i] == '+') i++;
        j = i;
        while (i < hlen && s[i] >= '0' && s[i] <= '9') i++;
        HTTP_FUZZ_CHECK(i > j && s[i] == ' ' && i + 4 < hlen);
        int status = 0;
        for (j = i + 1; j < i + 4; j++) {
            HTTP_FUZZ_CHECK(s[j] >= '0' && s[j] <= '9');
            status = status * 10 + (s[j] - '0');
        }
        HTTP_FUZZ_CHECK(s[i + 4] == ' ' || s[i + 4] == '\r');
        HTTP_FUZZ_CHECK(status >= 100 && status < 600 && status != 500);
        size_t alen = 0, clen_len = 0;
        const uint8_t *accept =
            http_fuzz_header(p + off, hlen, "Sec-WebSocket-Accept", &alen);
        const uint8_t *clen =
            http_fuzz_header(p + off, hlen, "Content-Length", &clen_len);
        if (first && ws) HTTP_FUZZ_CHECK(status == 101);
        first = false;
        off += hlen;
        if (status == 101) {
            /* Only our upgrade's key can be answered in modes 1 and 2;
             * a raw input's own upgrade has its own key. */
            HTTP_FUZZ_CHECK(accept != NULL);
            if (ws)
                HTTP_FUZZ_CHECK(alen == strlen(HTTP_FUZZ_ACCEPT) &&
                                memcmp(accept, HTTP_FUZZ_ACCEPT, alen) == 0);
            http_fuzz_check_frames(p + off, len - off, ws && hello);
            return;
        }
        /* A body of Content-Length bytes, except after HEAD and for a 304
         * (no body): the next response then starts at once. HEAD's
         * answer says the length of the body it does not carry, so any
         * body is framed by Content-Length but for those to requests
         * below HTTP/1.1 without keep-alive and those of evhttp's own
         * errors (Connection: close), which end where the connection
         * does. */
        if (off == len || (len - off >= 5 && memcmp(p + off, "HTTP/", 5) == 0))
            continue;
        if (clen == NULL) {
            size_t cl = 0;
            const uint8_t *conn = http_fuzz_header(s_hdr, hlen, "Connection", &cl);
            HTTP_FUZZ_CHECK(memcmp(s, "HTTP/1.1 ", 9) != 0 ||
                            (conn != NULL && cl == 5 &&
                             strncasecmp((const char *)conn, "close", 5) == 0));
            return;
        }
        size_t body = 0;
        for (size_t k = 0; k < clen_len; k++) {
            HTTP_FUZZ_CHECK(clen[k] >= '0' && clen[k] <= '9' && body < 1u << 24);
            body = body * 10 + (size_t)(clen[k] - '0');
        }
        HTTP_FUZZ_CHECK(body <= len - off);
        off += body;
    }
}

/* ------------------------------------------------------------------------
 * The client
 * --------------------------------------------------------------------- */

/* Reads what is there from fd into b. Returns false at EOF (or a reset:
 * wishd closed with input unread). */
static bool http_fuzz_read(int fd, http_fuzz_buf *b)
{
    for (;;) {
        uint8_t buf[16384];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            http_fuzz_put(b, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wish_server *srv = &http_fuzz_srv;
    if (size < HTTP_FUZZ_HEADER) return 0;
    unsigned m = data[0] & 3;
    enum http_fuzz_mode mode = m == 1   ? HTTP_FUZZ_WS_BYTES
                               : m == 2 ? HTTP_FUZZ_WS_FRAMED
                                        : HTTP_FUZZ_RAW;
    bool ws = mode != HTTP_FUZZ_RAW;
    bool hello = ws && (data[0] & 4);
    uint8_t cut = data[1];

    http_fuzz_buf stream = {0}, out = {0};
    http_fuzz_stream(mode, hello, data + HTTP_FUZZ_HEADER,
                     size - HTTP_FUZZ_HEADER, &stream);
    fuzz_server_tables(srv, true, "fuzz_http");
    HTTP_FUZZ_CHECK(srv->nconns == 0);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    HTTP_FUZZ_CHECK(fd >= 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (struct sockaddr *)&http_fuzz_addr,
                     sizeof(http_fuzz_addr));
    HTTP_FUZZ_CHECK(rc == 0 || errno == EINPROGRESS);

    /* Write the stream, cut as byte 1 says, reading wishd's answers as
     * they come, until it is all in or wishd has closed its end. */
    size_t off = 0, passes = 0;
    uint32_t seed = cut;
    bool open = true;
    while (off < stream.len && open) {
        size_t chunk = stream.len - off;
        if (cut != 0) {
            seed = seed * 1103515245u + 12345u;
            size_t c = 1 + (seed >> 16) % 64;
            if (c < chunk) chunk = c;
        }
        ssize_t n = send(fd, stream.data + off, chunk, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR && errno != ENOTCONN)
            break; /* wishd closed its end */
        event_base_loop(srv->base, EVLOOP_NONBLOCK);
        open = http_fuzz_read(fd, &out);
        HTTP_FUZZ_CHECK(++passes <= stream.len + HTTP_FUZZ_SLACK);
    }
    /* Nothing else will come: wishd answers what it has and lets go. */
    shutdown(fd, SHUT_WR);
    for (passes = 0; open || srv->nconns > 0; passes++) {
        if (passes == HTTP_FUZZ_CLOSE_PASSES) {
            fprintf(stderr, "fuzz_http: wishd still holds the connection "
                            "after the client's EOF (open %d, nconns %zu)\n",
                    open, srv->nconns);
            HTTP_FUZZ_CHECK(0);
        }
        event_base_loop(srv->base, EVLOOP_NONBLOCK);
        if (open) open = http_fuzz_read(fd, &out);
    }
    /* No TIME_WAIT left on this side: a long run makes many connections. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);

    if (getenv("FUZZ_HTTP_DUMP") != NULL) /* triage: what wishd wrote */
        fwrite(out.data, 1, out.len, stderr);
    http_fuzz_check_output(out.data, out.len, ws, hello);

    free(out.data);
    free(stream.data);
    fuzz_server_tables(srv, false, "fuzz_http");
    return 0;
}
