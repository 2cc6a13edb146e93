/* cert_qr.c -- QR codes for certificates; see cert_qr.h. */
#include "server/cert_qr.h"

#include <stddef.h>

#include <qrencode.h>

#define CERT_QR_QUIET 4 /* modules of white around it, as ISO 18004 asks */

int cert_qr_draw(cairo_t *cr, const char *text, double x, double y,
                 double size)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (qr == NULL) return -1;
    int n = qr->width;
    double m = size / (n + 2 * CERT_QR_QUIET);
    cairo_save(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, size, size);
    cairo_fill(cr);
    cairo_restore(cr);
    double x0 = x + CERT_QR_QUIET * m, y0 = y + CERT_QR_QUIET * m;
    /* One rectangle per module, filled at once: bit 0 of each byte is
     * the module's colour (qrencode.h). */
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            if (qr->data[r * n + c] & 1)
                cairo_rectangle(cr, x0 + c * m, y0 + r * m, m, m);
    cairo_fill(cr);
    QRcode_free(qr);
    return 0;
}
