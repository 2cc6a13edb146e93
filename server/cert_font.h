/* cert_font.h -- the CJK font that certificates are set in.
 *
 * A certificate is Chinese text, so wishd needs a font with the CJK
 * ideographs; a font without them would print empty boxes, which no
 * school would accept. The file is found once at start, either the one
 * named by cert-font or what fontconfig knows for Chinese (WenQuanYi
 * Micro Hei of fonts-wqy-microhei first, else e.g. Noto Sans CJK SC), and
 * checked to cover the characters certificates use. Nothing here keeps
 * state: fontconfig's configuration is loaded for the search and
 * dropped again.
 */
#ifndef WISHD_CERT_FONT_H
#define WISHD_CERT_FONT_H

#include <stddef.h>

/* Finds the font file: `configured` (cert-font) when not "", else
 * fontconfig's match (cert_font.c says which it prefers). Writes its path to path[size] and
 * the face's index in a font collection (.ttc) to *index. Returns 0, or
 * -1 with a reason that tells the operator what to install or set in
 * why[why_size]. Call on the main thread, before any worker renders. */
int cert_font_find(const char *configured, char *path, size_t size,
                   int *index, char *why, size_t why_size);

#endif
