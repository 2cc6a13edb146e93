/* wc_time.c -- times, places and weekly slots as people type them; see
 * clients/wishclient/wc_time.h. */
#include "clients/wishclient/wc_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Unix seconds we accept: years 1970..9999 cover every real use and keep
 * every sum below far from overflow. */
#define WC_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* Writes the reason for `return wc_reason(...)`. */
static int wc_reason(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int wc_reason(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads exactly n decimal digits at *p into *out and advances *p.
 * Returns 0, or -1 (nothing advanced) when there are fewer. */
static int wc_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------
 * Calendar
 * --------------------------------------------------------------------- */

static bool wc_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int wc_month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    return m == 2 && wc_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t wc_days_from_civil(int y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ------------------------------------------------------------------------
 * Parsing times
 * --------------------------------------------------------------------- */

/* "+1h30m" / "-15m" after its sign: the sum of NUMBER UNIT pairs. */
static int wc_time_relative(const char *s, int64_t now, int64_t *out, char *err,
                            size_t errlen)
{
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + 1;
    int64_t total = 0;

    if (!*p) goto bad;
    while (*p) {
        int64_t n = 0, unit;
        if (!isdigit((unsigned char)*p)) goto bad;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > WC_TIME_MAX) goto bad;
        }
        switch (*p++) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7 * 86400;
            break;
        default:
            goto bad;
        }
        if (n > WC_TIME_MAX / unit) goto bad;
        total += n * unit;
        if (total > WC_TIME_MAX) goto bad;
    }
    *out = now + sign * total;
    if (*out < 0 || *out > WC_TIME_MAX)
        return wc_reason(err, errlen, "'%s' is out of range", s);
    return 0;
bad:
    return wc_reason(err, errlen,
                     "'%s': a relative time is NUMBER UNIT pairs after "
                     "+ or -, units s m h d w (+2h, +1h30m)",
                     s);
}

/* The zone after an ISO time: "" (the city's), Z, +HH, +HH:MM, +HHMM.
 * Sets *offset in seconds east of UTC; "" leaves it as it is. */
static int wc_time_zone(const char *p, int64_t *offset)
{
    int sign, hh, mm = 0;

    if (!*p) return 0;
    *offset = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) return 0;
    if (*p != '+' && *p != '-') return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (wc_digits(&p, 2, &hh) < 0) return -1;
    if (*p == ':') p++;
    if (*p && wc_digits(&p, 2, &mm) < 0) return -1;
    if (*p || hh > 23 || mm > 59) return -1;
    *offset = sign * (hh * 3600 + mm * 60);
    return 0;
}

/* "2026-11-26[T09:00[:00[.fff]]][zone]"; without a zone, tz_offset. */
static int wc_time_iso(const char *s, int64_t tz_offset, int64_t *out,
                       char *err, size_t errlen)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t offset = tz_offset, t;

    if (wc_digits(&p, 4, &y) < 0 || *p++ != '-' || wc_digits(&p, 2, &mo) < 0 ||
        *p++ != '-' || wc_digits(&p, 2, &d) < 0)
        goto bad;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (wc_digits(&p, 2, &h) < 0 || *p++ != ':' ||
            wc_digits(&p, 2, &mi) < 0)
            goto bad;
        if (*p == ':') {
            p++;
            if (wc_digits(&p, 2, &sec) < 0) goto bad;
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p)) goto bad;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
    }
    if (wc_time_zone(p, &offset) < 0) goto bad;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > wc_month_days(y, mo) ||
        h > 23 || mi > 59 || sec > 59)
        return wc_reason(err, errlen, "'%s' is not a valid date and time", s);
    t = wc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
        offset;
    if (t < 0 || t > WC_TIME_MAX)
        return wc_reason(err, errlen, "'%s' is out of range", s);
    *out = t;
    return 0;
bad:
    return wc_reason(err, errlen,
                     "'%s': expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], "
                     "+2h, now or Unix seconds",
                     s);
}

int wc_time_parse(const char *s, int64_t now, int64_t tz_offset, int64_t *out,
                  char *err, size_t errlen)
{
    size_t n = strlen(s), digits = strspn(s, "0123456789");

    if (n == 0) return wc_reason(err, errlen, "empty time");
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (s[0] == '+' || s[0] == '-')
        return wc_time_relative(s, now, out, err, errlen);
    if (digits == n) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || v > WC_TIME_MAX)
            return wc_reason(err, errlen, "'%s' is out of range", s);
        *out = v;
        return 0;
    }
    return wc_time_iso(s, tz_offset, out, err, errlen);
}

/* ------------------------------------------------------------------------
 * Formatting times
 * --------------------------------------------------------------------- */

size_t wc_time_format(int64_t t, int style, int64_t tz_offset, char *buf,
                      size_t size)
{
    /* The wall clock at the offset is UTC's of t + offset: gmtime_r()
     * reads no zone database and no TZ. */
    int64_t wall = t + tz_offset;
    time_t tt = (time_t)wall;
    struct tm tm;
    size_t n;
    int w;

    if (size) buf[0] = '\0';
    if (size < 32 || wall < INT64_C(-62135596800) || wall > WC_TIME_MAX ||
        !gmtime_r(&tt, &tm))
        return 0;
    if (style == WC_TIME_SHORT)
        return strftime(buf, size,
                        tm.tm_sec ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M",
                        &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0) return 0;
    if (tz_offset == 0) {
        w = snprintf(buf + n, size - n, "Z");
    } else {
        int64_t a = tz_offset < 0 ? -tz_offset : tz_offset;
        w = snprintf(buf + n, size - n, "%c%02lld:%02lld",
                     tz_offset < 0 ? '-' : '+', (long long)(a / 3600),
                     (long long)(a % 3600 / 60));
    }
    if (w < 0 || (size_t)w >= size - n) {
        buf[0] = '\0';
        return 0;
    }
    return n + (size_t)w;
}

/* ------------------------------------------------------------------------
 * Places, weekly slots, yes/no
 * --------------------------------------------------------------------- */

/* Reads one finite number at *p (blanks around it skipped) and advances
 * *p past it. Returns 0 or -1. */
static int wc_number(const char **p, double *out)
{
    char *end;
    double v;

    while (**p == ' ')
        (*p)++;
    if (!**p || isspace((unsigned char)**p)) return -1;
    errno = 0;
    v = strtod(*p, &end);
    if (end == *p || errno || !isfinite(v)) return -1;
    /* strtod also reads hex, "inf" and "nan": digits, sign and '.' only. */
    if (strspn(*p, "+-.0123456789eE") < (size_t)(end - *p)) return -1;
    *p = end;
    while (**p == ' ')
        (*p)++;
    *out = v;
    return 0;
}

int wc_place_parse(const char *s, double *lon, double *lat, char *err,
                   size_t errlen)
{
    const char *p = s;
    double x, y;

    if (wc_number(&p, &x) < 0 || *p++ != ',' || wc_number(&p, &y) < 0 || *p)
        return wc_reason(err, errlen,
                         "'%s': expected LON,LAT in decimal degrees "
                         "(117.0612,36.6719)",
                         s);
    if (x < -180 || x > 180 || y < -90 || y > 90)
        return wc_reason(err, errlen,
                         "'%s': longitude must be in -180..180 and "
                         "latitude in -90..90",
                         s);
    *lon = x;
    *lat = y;
    return 0;
}

/* Reads "HH:MM" (or "H:MM"), 00:00..24:00, at *p into out[6] as "HH:MM"
 * and its minutes into *min; advances *p. Returns 0 or -1. */
static int wc_hhmm(const char **p, char out[6], int *min)
{
    int h, m;

    if (isdigit((unsigned char)(*p)[0]) && (*p)[1] == ':') {
        h = (*p)[0] - '0';
        *p += 1;
    } else if (wc_digits(p, 2, &h) < 0) {
        return -1;
    }
    if (*(*p)++ != ':' || wc_digits(p, 2, &m) < 0) return -1;
    if (m > 59 || h * 60 + m > 24 * 60) return -1;
    out[0] = (char)('0' + h / 10);
    out[1] = (char)('0' + h % 10);
    out[2] = ':';
    out[3] = (char)('0' + m / 10);
    out[4] = (char)('0' + m % 10);
    out[5] = '\0';
    *min = h * 60 + m;
    return 0;
}

int wc_weekly_parse(const char *s, int *day, char from[6], char to[6],
                    char *err, size_t errlen)
{
    static const char *const names[7] = {"sunday",    "monday",   "tuesday",
                                         "wednesday", "thursday", "friday",
                                         "saturday"};
    size_t n = strcspn(s, " ,/");
    const char *p = s + n;
    char a[6], b[6];
    int d = -1, ma, mb;

    if (n == 1 && s[0] >= '0' && s[0] <= '6') d = s[0] - '0';
    for (int i = 0; i < 7 && d < 0 && n >= 3; i++)
        if (strncasecmp(s, names[i], n) == 0 && n <= strlen(names[i])) d = i;
    if (d < 0 || !*p) goto bad;
    p++;
    if (wc_hhmm(&p, a, &ma) < 0 || *p++ != '-' || wc_hhmm(&p, b, &mb) < 0 || *p)
        goto bad;
    if (mb <= ma)
        return wc_reason(err, errlen, "'%s': the end must be after the start",
                         s);
    *day = d;
    memcpy(from, a, 6);
    memcpy(to, b, 6);
    return 0;
bad:
    return wc_reason(err, errlen,
                     "'%s': expected DAY HH:MM-HH:MM, DAY 0-6 (0 = "
                     "Sunday) or sun..sat (sat,09:00-12:00)",
                     s);
}

int wc_bool_parse(const char *s, int *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return wc_reason(err, errlen, "'%s': expected yes or no", s);
}
