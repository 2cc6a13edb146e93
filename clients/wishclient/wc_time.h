/* wc_time.h -- times, places and weekly slots as people type them, for
 * clients of wishd (wishctl). Pure text conversions: no connection, no
 * allocation, no global state; the machine's zone (TZ) plays no part.
 *
 * The wire wants integer Unix seconds and WGS84 lon/lat (docs/protocol.md,
 * "Transport and framing"); these helpers turn command-line text into
 * those and back. A time is read and shown in the city's time: a fixed
 * offset east of UTC, which wishd tells in hello (`tz_offset`, minutes),
 * because a resident in Jinan means Jinan's 09:00 whatever the zone of
 * the machine that runs the client. Every parser returns 0, or -1 with a
 * reason in err[errlen] that quotes the input; outputs are written only
 * on success.
 */
#ifndef MICROWISH_WC_TIME_H
#define MICROWISH_WC_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses a time into Unix seconds. Accepted, surrounding blanks not:
 *
 *   1795827600               Unix seconds (digits only)
 *   now                      `now`
 *   +2h  +30m  +1d  -15m     relative to `now`: one or more NUMBER UNIT
 *   +1h30m  +1w              pairs, units s m h d w, after '+' or '-'
 *   2026-11-26T09:00         ISO-8601 date and time; 'T' or one blank
 *   2026-11-26 09:00:30      between them; optional seconds (a fraction
 *   2026-11-26T09:00Z        after them is ignored); optional zone Z,
 *   2026-11-26T09:00+08:00   +HH, +HH:MM or +HHMM (or '-')
 *   2026-11-26               a date alone: its midnight
 *
 * Without a zone the time is the city's: tz_offset seconds east of UTC.
 * Returns 0 with *out set, or -1 with the reason in err. */
int wc_time_parse(const char *s, int64_t now, int64_t tz_offset, int64_t *out,
                  char *err, size_t errlen);

/* How wc_time_format() writes. */
enum wc_time_style {
    WC_TIME_ISO,   /* 2026-11-26T09:00:00+08:00, the time and its offset */
    WC_TIME_SHORT, /* 2026-11-26 09:00, ":SS" only when nonzero */
};

/* Writes Unix time t as the time tz_offset seconds east of UTC (0: UTC,
 * "Z" in ISO) into buf[size] (32 bytes are enough), NUL-terminated.
 * Returns the length, or 0 (buf "") when t is outside years 1..9999 or
 * buf is too small. */
size_t wc_time_format(int64_t t, int style, int64_t tz_offset, char *buf,
                      size_t size);

/* Parses "LON,LAT" (decimal degrees, blanks around either number
 * allowed) with lon in [-180, 180] and lat in [-90, 90]. Returns 0 with
 * *lon and *lat set, or -1 with the reason in err. */
int wc_place_parse(const char *s, double *lon, double *lat, char *err,
                   size_t errlen);

/* Parses a weekly slot "DAY HH:MM-HH:MM": DAY is 0..6 (0 = Sunday) or an
 * English day name or its first three letters (any case), then one blank,
 * ',' or '/', then the start and the end, 00:00..24:00, end after start.
 * Returns 0 with *day and the two times copied as "HH:MM" into from[6]
 * and to[6], or -1 with the reason in err. */
int wc_weekly_parse(const char *s, int *day, char from[6], char to[6],
                    char *err, size_t errlen);

/* Parses a yes/no word: yes, no, true, false, on, off, 1, 0 (any case).
 * Returns 0 with *out set, or -1 with the reason in err. */
int wc_bool_parse(const char *s, int *out, char *err, size_t errlen);

#endif
