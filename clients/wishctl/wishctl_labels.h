/* wishctl_labels.h -- the city's skill catalogue, for showing skills in
 * words: "义务理发 (haircut)" where the wire says "haircut".
 *
 * Shared by wishctl's commands (wishctl_common.c) and `wishctl watch`,
 * which keeps its own connection. The catalogue is read once per run
 * with `skills` (docs/protocol.md, "Skills"); a wishd that has none, or
 * refuses, leaves it empty and skills show as their codes. */
#ifndef MICROWISH_WISHCTL_LABELS_H
#define MICROWISH_WISHCTL_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "clients/wishclient/wishclient.h"

/* One entry: a code and its Chinese words. */
typedef struct ctl_label {
    char code[33], zh[65];
} ctl_label;

/* The catalogue as read; zeroed is empty. Free with ctl_labels_clear(). */
typedef struct ctl_labels {
    ctl_label *v;
    size_t n;
    bool read; /* a `skills` call was made (whatever it answered) */
} ctl_labels;

/* Calls `skills` on c and keeps what it answered in *l (nothing on any
 * failure). A call's result is the client's last one (wishclient.h): make
 * it before a call whose result is still to be read. Once per *l. */
void ctl_labels_read(wishclient *c, ctl_labels *l);

/* Frees what ctl_labels_read() kept; *l is empty again. */
void ctl_labels_clear(ctl_labels *l);

/* A code for people into buf[size]: its Chinese words with the code, or
 * the code alone when the catalogue lacks it. Returns buf. */
const char *ctl_labels_find(const ctl_labels *l, const char *code, char *buf,
                            size_t size);

#endif
