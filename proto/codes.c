/* codes.c -- error codes, error filling and default limits (proto.h). */
#include "proto/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Indexed by code; docs/protocol.md ("Errors") fixes the numbers, so this
 * table is the whole mapping in both directions. */
static const char *const proto_code_names[] = {
    [PROTO_OK] = "OK",
    [PROTO_BAD_REQUEST] = "BAD_REQUEST",
    [PROTO_UNAUTHENTICATED] = "UNAUTHENTICATED",
    [PROTO_FORBIDDEN] = "FORBIDDEN",
    [PROTO_NOT_FOUND] = "NOT_FOUND",
    [PROTO_CONFLICT] = "CONFLICT",
    [PROTO_RATE_LIMITED] = "RATE_LIMITED",
    [PROTO_UNAVAILABLE] = "UNAVAILABLE",
    [PROTO_INTERNAL] = "INTERNAL",
    [PROTO_NO_METHOD] = "NO_METHOD",
    [PROTO_TOO_LARGE] = "TOO_LARGE",
};

#define PROTO_NCODES (sizeof proto_code_names / sizeof proto_code_names[0])

const char *proto_code_name(int code)
{
    if (code < 0 || (size_t)code >= PROTO_NCODES) return "UNKNOWN";
    return proto_code_names[code];
}

int proto_code_from_name(const char *name, size_t len)
{
    if (name == NULL) return 0;
    /* Starts at 1: "OK" is not an error a peer can name. */
    for (size_t i = 1; i < PROTO_NCODES; i++) {
        const char *n = proto_code_names[i];
        if (strlen(n) == len && memcmp(n, name, len) == 0) return (int)i;
    }
    return 0;
}

int proto_fail(proto_error *err, int code, const char *fmt, ...)
{
    if (err == NULL) return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    /* vsnprintf truncates and always NUL-terminates. */
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void proto_limits_default(proto_limits *l)
{
    l->max_frame = 64 * 1024;
    l->max_depth = 16;
    l->max_elements = 1024;
    l->max_string = 8 * 1024;
}
