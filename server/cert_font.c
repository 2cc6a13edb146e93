/* cert_font.c -- finding the CJK font of certificates; see cert_font.h. */
#include "server/cert_font.h"

#include <stdio.h>
#include <string.h>

#include <fontconfig/fontconfig.h>

/* Characters every certificate prints (志愿服务证明): a font that has
 * them has the common ideographs, one that lacks any is not Chinese. */
static const FcChar32 cert_font_probe[] = {0x5FD7, 0x613F, 0x670D, 0x52A1,
                                           0x8BC1, 0x660E};

/* True when the charset has every probe character. */
static int cert_font_covers(const FcCharSet *cs)
{
    for (size_t i = 0; i < sizeof(cert_font_probe) / sizeof(*cert_font_probe);
         i++)
        if (!FcCharSetHasChar(cs, cert_font_probe[i])) return 0;
    return 1;
}

/* Checks that face `index` of the file covers the probe, reading the
 * file itself (FcFreeTypeQuery), as a configured path is not in
 * fontconfig's cache. Returns 0 or -1 with why. */
static int cert_font_check_file(const char *file, int index, char *why,
                                size_t why_size)
{
    int count = 0;
    FcPattern *p = FcFreeTypeQuery((const FcChar8 *)file, (unsigned)index,
                                   NULL, &count);
    FcCharSet *cs = NULL;
    int ok = p != NULL &&
             FcPatternGetCharSet(p, FC_CHARSET, 0, &cs) == FcResultMatch &&
             cert_font_covers(cs);
    if (p) FcPatternDestroy(p);
    if (ok) return 0;
    snprintf(why, why_size,
             p == NULL ? "cert-font %s: not a font file fontconfig can read"
                       : "cert-font %s: has no Chinese characters (志愿服务证明)",
             file);
    return -1;
}

/* Asks fontconfig for WenQuanYi Micro Hei, else its best Chinese
 * sans-serif face. WenQuanYi first: its outlines are TrueType, and
 * cairo 1.16 (Debian 12) leaks 768 bytes on every PDF that embeds a
 * subset of a CFF font such as Noto Sans CJK, which a long-running
 * daemon should not; it is also a fifth of the size. Returns 0 or -1
 * with why. */
static int cert_font_match(char *path, size_t size, int *index, char *why,
                           size_t why_size)
{
    int rc = -1;
    FcConfig *fc = FcInitLoadConfigAndFonts();
    FcPattern *want = FcNameParse(
        (const FcChar8 *)"WenQuanYi Micro Hei,sans-serif:lang=zh-cn");
    FcPattern *got = NULL;
    if (fc == NULL || want == NULL) {
        snprintf(why, why_size, "fontconfig cannot load its configuration");
        goto out;
    }
    FcConfigSubstitute(fc, want, FcMatchPattern);
    FcDefaultSubstitute(want);
    FcResult res;
    got = FcFontMatch(fc, want, &res);
    FcChar8 *file = NULL;
    FcCharSet *cs = NULL;
    if (got == NULL ||
        FcPatternGetString(got, FC_FILE, 0, &file) != FcResultMatch ||
        FcPatternGetCharSet(got, FC_CHARSET, 0, &cs) != FcResultMatch ||
        !cert_font_covers(cs)) {
        snprintf(why, why_size,
                 "no Chinese font found by fontconfig: install "
                 "fonts-wqy-microhei (or fonts-noto-cjk), or set cert-font "
                 "to a font file");
        goto out;
    }
    if (FcPatternGetInteger(got, FC_INDEX, 0, index) != FcResultMatch)
        *index = 0;
    if (strlen((const char *)file) >= size) {
        snprintf(why, why_size, "font path too long: %s", file);
        goto out;
    }
    snprintf(path, size, "%s", (const char *)file);
    rc = 0;
out:
    if (got) FcPatternDestroy(got);
    if (want) FcPatternDestroy(want);
    if (fc) FcConfigDestroy(fc);
    /* Drop fontconfig's process-wide state too: nothing else in wishd
     * uses it, and a leak checker would count it at exit. */
    FcFini();
    return rc;
}

int cert_font_find(const char *configured, char *path, size_t size,
                   int *index, char *why, size_t why_size)
{
    *index = 0;
    if (configured[0] == '\0')
        return cert_font_match(path, size, index, why, why_size);
    if (strlen(configured) >= size) {
        snprintf(why, why_size, "cert-font: path too long");
        return -1;
    }
    snprintf(path, size, "%s", configured);
    int rc = cert_font_check_file(path, 0, why, why_size);
    FcFini();
    return rc;
}
