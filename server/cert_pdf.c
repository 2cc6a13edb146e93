/* cert_pdf.c -- laying out a service certificate; see cert_pdf.h.
 *
 * One A4 page in points (1/72 in), cairo's y going down. The first page
 * carries the statement, the issuing details, the verification code and
 * its QR code, then the table of services starts; further pages repeat
 * the title line and the table's head. Every text is measured before it
 * is drawn, so a long name, title or issuer is cut with "…" or wrapped,
 * never drawn over its neighbour or off the page.
 */
#include "server/cert_pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>

#include "server/cert_qr.h"

#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 56.0
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define ROW_H 18.0
#define FOOT_Y (PAGE_H - 36.0)
#define TABLE_END (PAGE_H - 72.0) /* no row starts below this */
#define QR_SIZE 108.0

/* Columns of the table: number, date, title, hours (right-aligned). */
#define COL_NO MARGIN
#define COL_DATE (MARGIN + 36.0)
#define COL_TITLE (MARGIN + 120.0)
#define COL_HOURS_R (PAGE_W - MARGIN)
#define TITLE_W (COL_HOURS_R - 80.0 - COL_TITLE)

/* The PDF as cairo writes it, bounded by CERT_PDF_MAX. */
typedef struct pdf_buf {
    unsigned char *data;
    size_t len, cap;
    int too_big;
} pdf_buf;

/* The layout's state: the context, the page number, the pen's y. */
typedef struct layout {
    cairo_t *cr;
    const cert_doc *d;
    int page;
    double y;
} layout;

static cairo_status_t pdf_write(void *closure, const unsigned char *data,
                                unsigned int n)
{
    pdf_buf *b = closure;
    if (b->len + n > CERT_PDF_MAX) {
        b->too_big = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64 * 1024;
        while (cap < b->len + n) cap *= 2;
        if (cap > CERT_PDF_MAX) cap = CERT_PDF_MAX;
        unsigned char *p = realloc(b->data, cap);
        if (p == NULL) return CAIRO_STATUS_NO_MEMORY;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return CAIRO_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------
 * Text
 * --------------------------------------------------------------------- */

/* Bytes of the UTF-8 character starting at s (1 for a stray byte, so a
 * malformed string still advances). */
static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '\0') return i;
    return n;
}

static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Draws s at x, y (its baseline) in the current size. */
static void text_at(cairo_t *cr, double x, double y, const char *s)
{
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

/* Copies into out[size] the longest prefix of s, whole characters,
 * whose width with "…" after it is at most w; s itself when it fits. */
static void text_fit(cairo_t *cr, const char *s, double w, char *out,
                     size_t size)
{
    size_t whole = strnlen(s, size - 1);
    memcpy(out, s, whole);
    out[whole] = '\0';
    if (text_w(cr, out) <= w) return;
    size_t n = 0;
    for (;;) {
        size_t k = utf8_len(s + n);
        if (s[n] == '\0' || n + k + sizeof("…") > size) break;
        char try[CERT_TEXT_MAX * 2 + 8];
        snprintf(try, sizeof(try), "%.*s…", (int)(n + k), s);
        if (text_w(cr, try) > w) break;
        n += k;
    }
    snprintf(out, size, "%.*s…", (int)n, s);
}

/* Draws s wrapped to width w from x, starting on baseline *y, each line
 * `lh` below the last; leaves *y on the last line's baseline. Breaks
 * between any two characters, as Chinese is written. */
static void text_wrap(cairo_t *cr, const char *s, double x, double *y,
                      double w, double lh)
{
    char line[1024];
    size_t n = 0;
    while (*s) {
        size_t k = utf8_len(s);
        if (n + k >= sizeof(line)) break;
        memcpy(line + n, s, k);
        line[n + k] = '\0';
        if (n > 0 && text_w(cr, line) > w) {
            line[n] = '\0';
            text_at(cr, x, *y, line);
            *y += lh;
            n = 0;
            continue; /* the character starts the next line */
        }
        n += k;
        s += k;
    }
    if (n > 0) text_at(cr, x, *y, line);
}

/* A number as people write it: at most two decimals, none trailing. */
static void num(double v, char *out, size_t size)
{
    snprintf(out, size, "%.2f", v);
    char *dot = strchr(out, '.');
    if (dot == NULL) return;
    char *end = out + strlen(out) - 1;
    while (end > dot && *end == '0') *end-- = '\0';
    if (end == dot) *end = '\0';
}

/* ------------------------------------------------------------------------
 * Page parts
 * --------------------------------------------------------------------- */

static void rule(cairo_t *cr, double y, double width)
{
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, MARGIN, y);
    cairo_line_to(cr, PAGE_W - MARGIN, y);
    cairo_stroke(cr);
}

static void page_foot(layout *l)
{
    char s[CERT_TEXT_MAX + 64];
    cairo_set_font_size(l->cr, 8);
    snprintf(s, sizeof(s), "第 %d 页 · 证书编号 %s", l->page, l->d->no);
    text_at(l->cr, (PAGE_W - text_w(l->cr, s)) / 2, FOOT_Y, s);
}

static void table_head(layout *l)
{
    cairo_t *cr = l->cr;
    cairo_set_font_size(cr, 10);
    text_at(cr, COL_NO, l->y, "序号");
    text_at(cr, COL_DATE, l->y, "日期");
    text_at(cr, COL_TITLE, l->y, "服务内容");
    const char *h = "时长（小时）";
    text_at(cr, COL_HOURS_R - text_w(cr, h), l->y, h);
    rule(cr, l->y + 6, 0.8);
    l->y += ROW_H + 4;
}

/* Ends the page and starts the next with its title line and, when
 * `with_head`, the table's head. */
static void next_page(layout *l, int with_head)
{
    page_foot(l);
    cairo_show_page(l->cr);
    l->page++;
    cairo_set_font_size(l->cr, 12);
    char s[CERT_TEXT_MAX + 64];
    snprintf(s, sizeof(s), "志愿服务证明（续） %s", l->d->name);
    char fit[CERT_TEXT_MAX + 64];
    text_fit(l->cr, s, TEXT_W, fit, sizeof(fit));
    text_at(l->cr, MARGIN, 64, fit);
    rule(l->cr, 74, 0.5);
    l->y = 100;
    if (with_head) table_head(l);
}

/* The first page's upper part: title, statement, details, QR code. */
static void first_page(layout *l)
{
    cairo_t *cr = l->cr;
    const cert_doc *d = l->d;
    char s[CERT_TEXT_MAX * 3], a[32], b[32], fit[CERT_TEXT_MAX * 3];

    cairo_set_font_size(cr, 28);
    const char *title = "志愿服务证明";
    text_at(cr, (PAGE_W - text_w(cr, title)) / 2, 96, title);
    cairo_set_font_size(cr, 11);
    const char *en = "Certificate of Volunteer Service";
    text_at(cr, (PAGE_W - text_w(cr, en)) / 2, 118, en);
    rule(cr, 132, 1.2);

    num(d->hours, a, sizeof(a));
    num(d->points, b, sizeof(b));
    cairo_set_font_size(cr, 13);
    l->y = 170;
    snprintf(s, sizeof(s),
             "兹证明 %s（志愿者编号 %s）于 %s 至 %s 期间参加志愿服务 %ld "
             "次，累计服务时长 %s 小时，获得积分 %s 分。特此证明。",
             d->name, d->volunteer, d->from, d->to, d->tasks, a, b);
    text_wrap(cr, s, MARGIN, &l->y, TEXT_W, 24);

    /* Details on the left, the QR code on the right. */
    double top = l->y + 28, y = top + 12;
    double left_w = TEXT_W - QR_SIZE - 16;
    cairo_set_font_size(cr, 11);
    const char *label[] = {"服务区域：", "出具单位：", "出具日期：",
                           "证书编号：", "验证码："};
    const char *value[] = {d->region, d->issuer, d->issued, d->no, d->code};
    for (int i = 0; i < 5; i++) {
        snprintf(s, sizeof(s), "%s%s", label[i], value[i]);
        text_fit(cr, s, left_w, fit, sizeof(fit));
        text_at(cr, MARGIN, y, fit);
        y += 20;
    }
    cairo_set_font_size(cr, 8);
    text_wrap(cr,
              d->url[0] ? "扫描二维码或在验证页输入验证码，核验本证明的真伪。"
                        : "凭验证码可向出具单位核验本证明的真伪。",
              MARGIN, &y, left_w, 12);
    y += 12;
    if (d->url[0]) {
        snprintf(s, sizeof(s), "%s", d->url);
        text_fit(cr, s, left_w, fit, sizeof(fit));
        text_at(cr, MARGIN, y, fit);
    }
    double qx = PAGE_W - MARGIN - QR_SIZE;
    cert_qr_draw(cr, d->url[0] ? d->url : d->code, qx, top, QR_SIZE);
    const char *scan = "扫码验证 Scan to verify";
    text_at(cr, qx + (QR_SIZE - text_w(cr, scan)) / 2, top + QR_SIZE + 10,
            scan);
    l->y = (y > top + QR_SIZE + 10 ? y : top + QR_SIZE + 10) + 36;
    rule(cr, l->y - 22, 0.5);
    table_head(l);
}

/* The rows, the totals and the issuer's line, over as many pages as
 * they take. */
static void services(layout *l)
{
    cairo_t *cr = l->cr;
    const cert_doc *d = l->d;
    char s[64], fit[CERT_TEXT_MAX + 8];
    for (int i = 0; i < d->nrows; i++) {
        if (l->y > TABLE_END) next_page(l, 1);
        const cert_row *r = &d->rows[i];
        cairo_set_font_size(cr, 10);
        snprintf(s, sizeof(s), "%d", i + 1);
        text_at(cr, COL_NO, l->y, s);
        text_at(cr, COL_DATE, l->y, r->date);
        text_fit(cr, r->title, TITLE_W, fit, sizeof(fit));
        text_at(cr, COL_TITLE, l->y, fit);
        num(r->hours, s, sizeof(s));
        text_at(cr, COL_HOURS_R - text_w(cr, s), l->y, s);
        l->y += ROW_H;
    }
    if (l->y > TABLE_END - 3 * ROW_H) next_page(l, 0);
    rule(cr, l->y - ROW_H + 6, 0.8);
    cairo_set_font_size(cr, 11);
    char h[32];
    num(d->hours, h, sizeof(h));
    snprintf(s, sizeof(s), "合计 %ld 次", d->tasks);
    text_at(cr, COL_TITLE, l->y + 2, s);
    text_at(cr, COL_HOURS_R - text_w(cr, h), l->y + 2, h);
    l->y += 3 * ROW_H;
    char line[CERT_TEXT_MAX + 32];
    snprintf(line, sizeof(line), "%s（盖章）", d->issuer);
    text_fit(cr, line, TEXT_W, fit, sizeof(fit));
    text_at(cr, COL_HOURS_R - text_w(cr, fit), l->y, fit);
    text_at(cr, COL_HOURS_R - text_w(cr, d->issued), l->y + 20, d->issued);
}

/* ------------------------------------------------------------------------
 * The document
 * --------------------------------------------------------------------- */

int cert_pdf_render(const cert_doc *d, cairo_font_face_t *face,
                    unsigned char **out, size_t *len, char *why,
                    size_t why_size)
{
    pdf_buf buf = {0};
    *out = NULL;
    *len = 0;
    cairo_surface_t *sf =
        cairo_pdf_surface_create_for_stream(pdf_write, &buf, PAGE_W, PAGE_H);
    char title[CERT_TEXT_MAX + 32];
    snprintf(title, sizeof(title), "志愿服务证明 %s", d->no);
    cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_CREATOR, "wishd");
    cairo_t *cr = cairo_create(sf);
    cairo_set_font_face(cr, face);
    cairo_set_source_rgb(cr, 0, 0, 0);
    layout l = {.cr = cr, .d = d, .page = 1};
    first_page(&l);
    services(&l);
    page_foot(&l);
    cairo_show_page(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(sf); /* writes the rest of the file */
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    if (st != CAIRO_STATUS_SUCCESS || buf.too_big) {
        snprintf(why, why_size, "%s",
                 buf.too_big ? "the PDF would pass its size limit"
                             : cairo_status_to_string(st));
        free(buf.data);
        return -1;
    }
    *out = buf.data;
    *len = buf.len;
    return 0;
}
