/* cert_pdf.h -- a service certificate (志愿服务证明) as a PDF.
 *
 * Pure layout: a cert_doc in, PDF bytes out, with cairo's PDF surface
 * and libqrencode's QR code. No event loop, no Redis, no globals: the
 * certificate worker (cert_worker.h) calls it on its own thread, and a
 * test may call it directly. The text is set in the font face it is
 * given (cert_font.h finds the file), so Chinese renders as glyphs, not
 * boxes, and cairo embeds only the subset of glyphs used.
 */
#ifndef WISHD_CERT_PDF_H
#define WISHD_CERT_PDF_H

#include <stddef.h>

#include <cairo.h>

#define CERT_TEXT_MAX 256  /* bytes of one text field, with its NUL */
#define CERT_ROWS_MAX 300  /* services one certificate lists (the Lua's) */
#define CERT_PDF_MAX (900 * 1024) /* bytes of one PDF (docs/protocol.md) */

/* One service: its date "YYYY-MM-DD", hours, task title. */
typedef struct cert_row {
    char date[11];
    double hours;
    char title[CERT_TEXT_MAX];
} cert_row;

/* Everything printed. Strings are UTF-8 and NUL-ended. */
typedef struct cert_doc {
    char no[CERT_TEXT_MAX];     /* issue number, "jinan-000042" */
    char code[CERT_TEXT_MAX];   /* verification code, grouped */
    char url[CERT_TEXT_MAX * 2 + 64]; /* what the QR code holds */
    char name[CERT_TEXT_MAX];   /* volunteer's display name */
    char volunteer[CERT_TEXT_MAX]; /* its user id */
    char region[CERT_TEXT_MAX];
    char from[11], to[11];      /* the period */
    char issued[11];            /* date of issue */
    char issuer[CERT_TEXT_MAX]; /* issuing centre */
    long tasks;
    double hours, points;
    int nrows;
    cert_row rows[]; /* nrows of them, oldest first */
} cert_doc;

/* Renders d in `face` as an A4 PDF into a malloc'd buffer (*out, *len;
 * the caller frees it). Fails when the PDF would pass CERT_PDF_MAX
 * bytes, when the QR code cannot be made, or on cairo's errors. Returns
 * 0, or -1 with a reason in why[why_size] (*out NULL). Thread-safe as
 * long as no other thread uses `face` at the same time. */
int cert_pdf_render(const cert_doc *d, cairo_font_face_t *face,
                    unsigned char **out, size_t *len, char *why,
                    size_t why_size);

#endif
