/* cert_qr.h -- a QR code drawn into a cairo context (libqrencode). */
#ifndef WISHD_CERT_QR_H
#define WISHD_CERT_QR_H

#include <cairo.h>

/* Draws the QR code of text (UTF-8, at most a few hundred bytes: the
 * verify link) as a size x size square at x, y in user units, with
 * error correction level M (a printed page may be creased or stamped
 * over), dark modules filled in the current source colour on a white
 * square that includes the quiet zone. Returns 0, or -1 when the text
 * cannot be encoded (too long, out of memory): nothing is drawn then. */
int cert_qr_draw(cairo_t *cr, const char *text, double x, double y,
                 double size);

#endif
