/* wishctl_cert.c -- service certificates (志愿服务证明; docs/protocol.md,
 * "Service certificates"): `certificate -o FILE` asks wishd for one
 * (certificate.issue), writes its PDF to FILE and prints its number,
 * verification code, link and totals; `verify CODE` checks a code
 * (certificate.verify) without a log-in. See clients/wishctl/wishctl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/wishctl/wishctl.h"

/* A path the temp file's name fits in: FILE's directory, a dot, its
 * base name and ".XXXXXX". */
#define CERT_PATH_MAX 4096

/* ========================================================================
 * Output
 * ===================================================================== */

/* Prints one "key value" line: aligned on a terminal, tab-separated in a
 * pipe. */
static void cert_line(const ctl_opts *o, const char *key, const char *val)
{
    if (o->tty)
        printf("%-10s %s\n", key, val);
    else
        printf("%s\t%s\n", key, val);
}

/* Prints the field `field` of res as the line `key`; nothing when res
 * lacks it. */
static void cert_field(const ctl_opts *o, const msgpack_object *res,
                       const char *key, const char *field)
{
    const msgpack_object *v = ctl_get(res, field);
    char buf[512];

    if (v == NULL) return;
    cert_line(o, key, ctl_text(o, field, v, CTL_TEXT, buf, sizeof(buf)));
}

/* Prints what a certificate certifies, the part certificate.issue and
 * certificate.verify both answer: name, period, totals, issuer, time. */
static void cert_totals(const ctl_opts *o, const msgpack_object *res)
{
    cert_field(o, res, "name", "name");
    cert_field(o, res, "from", "from");
    cert_field(o, res, "to", "to");
    cert_field(o, res, "tasks", "tasks");
    cert_field(o, res, "hours", "hours");
    cert_field(o, res, "points", "points");
    cert_field(o, res, "issuer", "issuer");
    cert_field(o, res, "issued_at", "issued_at");
}

/* Prints res, a map, as one JSON line without its key `pdf`: a shallow
 * copy of the map that leaves that pair out. Returns 0, or
 * CTL_EXIT_REQUEST when out of memory. */
static int cert_json_without_pdf(const msgpack_object *res)
{
    msgpack_object copy = *res;
    msgpack_object_kv *kv;
    uint32_t n = 0;

    if (res->type != MSGPACK_OBJECT_MAP) {
        ctl_json_line(res);
        return 0;
    }
    kv = calloc(res->via.map.size + 1, sizeof(*kv));
    if (kv == NULL) {
        fprintf(stderr, "wishctl certificate: out of memory\n");
        return CTL_EXIT_REQUEST;
    }
    for (uint32_t i = 0; i < res->via.map.size; i++) {
        const msgpack_object *k = &res->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 3 &&
            memcmp(k->via.str.ptr, "pdf", 3) == 0)
            continue;
        kv[n++] = res->via.map.ptr[i];
    }
    copy.via.map.size = n;
    copy.via.map.ptr = kv;
    ctl_json_line(&copy);
    free(kv);
    return 0;
}

/* ========================================================================
 * certificate: the PDF to a file
 * ===================================================================== */

/* A file being written: the temp file beside the final path, renamed over
 * it once whole. */
typedef struct cert_file {
    char tmp[CERT_PATH_MAX];
    int fd; /* -1 once closed */
} cert_file;

/* Makes the temp file for path, ".BASE.XXXXXX" in path's directory, mode
 * 0644: made before the request, so that a directory that cannot be
 * written costs no certificate. Returns 0, or CTL_EXIT_USAGE after saying
 * why. */
static int cert_file_open(const ctl_opts *o, const char *path, cert_file *f)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dlen = slash ? (int)(slash - path + 1) : 0;
    int n;

    f->fd = -1;
    if (*base == '\0')
        return ctl_usage(o, "--output: '%s' names a directory, not a file",
                         path);
    n = snprintf(f->tmp, sizeof(f->tmp), "%.*s.%s.XXXXXX", dlen, path, base);
    if (n < 0 || (size_t)n >= sizeof(f->tmp))
        return ctl_usage(o, "--output: the path is too long");
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0)
        return ctl_usage(o, "--output: cannot write in %s%.*s: %s",
                         dlen ? "" : ".", dlen, path, strerror(errno));
    if (fchmod(f->fd, 0644) < 0) {
        int e = errno;
        close(f->fd);
        unlink(f->tmp);
        f->fd = -1;
        return ctl_usage(o, "--output: %s: %s", f->tmp, strerror(e));
    }
    return 0;
}

/* Removes the temp file when it is still there (a failure on the way). */
static void cert_file_abandon(cert_file *f)
{
    if (f->fd < 0) return;
    close(f->fd);
    unlink(f->tmp);
    f->fd = -1;
}

/* Writes data[size] to f and renames it to path. Returns 0, or
 * CTL_EXIT_REQUEST after saying why (the temp file then removed). */
static int cert_file_commit(cert_file *f, const char *path, const char *data,
                            size_t size)
{
    size_t done = 0;

    while (done < size) {
        ssize_t w = write(f->fd, data + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) goto err;
        done += (size_t)w;
    }
    if (fsync(f->fd) < 0) goto err;
    if (close(f->fd) < 0) {
        int e = errno;
        f->fd = -1;
        unlink(f->tmp);
        fprintf(stderr, "wishctl certificate: %s: %s\n", path, strerror(e));
        return CTL_EXIT_REQUEST;
    }
    f->fd = -1;
    if (rename(f->tmp, path) < 0) {
        fprintf(stderr, "wishctl certificate: %s: %s\n", path, strerror(errno));
        unlink(f->tmp);
        return CTL_EXIT_REQUEST;
    }
    return 0;
err:
    fprintf(stderr, "wishctl certificate: %s: %s\n", path, strerror(errno));
    cert_file_abandon(f);
    return CTL_EXIT_REQUEST;
}

/* Checks that the option id, when given, is a date "YYYY-MM-DD" and adds
 * it to r as field key. Returns 0, or CTL_EXIT_USAGE after saying why. */
static int cert_req_date(ctl_req *r, const ctl_opts *o, int id, const char *key,
                         const char *text)
{
    if (!(o->given & OPT_BIT(id))) return 0;
    if (strlen(text) != 10 || strspn(text, "0123456789-") != 10 ||
        text[4] != '-' || text[7] != '-')
        return ctl_usage(o, "--%s: expected a date YYYY-MM-DD, got '%s'", key,
                         text);
    ctl_req_str(r, key, text);
    return 0;
}

int ctl_cmd_certificate(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res, *pdf;
    const char *path = o->output;
    ctl_session s;
    cert_file f = {.fd = -1};
    ctl_req r;
    int rc;

    (void)argc;
    (void)argv;
    ctl_req_init(&r);
    rc = cert_req_date(&r, o, OPT_FROM, "from", o->from_text);
    if (rc == 0) rc = cert_req_date(&r, o, OPT_TO, "to", o->to_text);
    if (rc == 0 && (o->given & OPT_BIT(OPT_VOLUNTEER)))
        ctl_req_str(&r, "volunteer_id", o->volunteer);
    if (rc != 0) {
        ctl_req_free(&r);
        return rc;
    }
    if ((rc = cert_file_open(o, path, &f)) != 0) {
        ctl_req_free(&r);
        return rc;
    }
    rc = ctl_login(o, &s);
    if (rc == 0) rc = ctl_req_call(&s, "certificate.issue", &r, &res);
    if (rc == 0) {
        pdf = ctl_get(res, "pdf");
        if (pdf != NULL && pdf->type == MSGPACK_OBJECT_BIN) {
            rc = cert_file_commit(&f, path, pdf->via.bin.ptr,
                                  pdf->via.bin.size);
        } else if (pdf != NULL && pdf->type == MSGPACK_OBJECT_STR) {
            rc = cert_file_commit(&f, path, pdf->via.str.ptr,
                                  pdf->via.str.size);
        } else {
            fprintf(stderr, "wishctl certificate: the server's answer has "
                            "no pdf\n");
            rc = CTL_EXIT_REQUEST;
        }
    }
    if (rc == 0 && o->json) rc = cert_json_without_pdf(res);
    if (rc == 0 && !o->json) {
        cert_field(o, res, "number", "no");
        cert_field(o, res, "code", "code");
        cert_field(o, res, "verify_url", "url");
        cert_totals(o, res);
        cert_line(o, "file", path);
    }
    if (rc == 0) rc = ctl_flush();
    cert_file_abandon(&f);
    ctl_session_close(&s);
    ctl_req_free(&r);
    return rc;
}

/* ========================================================================
 * verify: a code, without a log-in
 * ===================================================================== */

/* The city to verify in into buf[size]: --city, else the first part of
 * the stored log-in's region. Returns 0, or CTL_EXIT_USAGE after saying
 * why. */
static int cert_city(const ctl_opts *o, char *buf, size_t size)
{
    ctl_stored st;

    if (o->given & OPT_BIT(OPT_CITY)) {
        snprintf(buf, size, "%s", o->city);
        return 0;
    }
    if (ctl_store_load(&st) == 0 && st.region[0] != '\0') {
        snprintf(buf, size, "%.*s", (int)strcspn(st.region, "/"), st.region);
        return 0;
    }
    return ctl_usage(o, "--city is required (no stored log-in to take the "
                        "city from)");
}

int ctl_cmd_verify(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res, *g;
    char city[CTL_ID_MAX];
    ctl_session s;
    ctl_req r;
    int rc;
    bool genuine;

    (void)argc;
    if ((rc = cert_city(o, city, sizeof(city))) != 0) return rc;
    o->anonymous = true; /* certificate.verify works before hello */
    ctl_req_init(&r);
    ctl_req_str(&r, "city", city);
    ctl_req_str(&r, "code", argv[0]);
    rc = ctl_login(o, &s);
    if (rc == 0) rc = ctl_req_call(&s, "certificate.verify", &r, &res);
    if (rc == 0) {
        g = ctl_get(res, "genuine");
        genuine =
            g != NULL && g->type == MSGPACK_OBJECT_BOOLEAN && g->via.boolean;
        if (o->json) {
            ctl_json_line(res);
        } else {
            cert_line(o, "genuine", genuine ? "yes" : "no");
            if (genuine) {
                cert_field(o, res, "number", "no");
                cert_totals(o, res);
            }
        }
        rc = ctl_flush();
        if (rc == 0 && !genuine) {
            fprintf(stderr,
                    "wishctl verify: '%s' is not the code of a "
                    "certificate of %s\n",
                    argv[0], city);
            rc = CTL_EXIT_REQUEST;
        }
    }
    ctl_session_close(&s);
    ctl_req_free(&r);
    return rc;
}
