/* wishctl_watch_model.h -- the model of `wishctl watch` (internal to
 * bin/wishctl): the queue as the queue.watch snapshot, the `queue` events
 * and the stats results leave it. Data only: no connection, no terminal,
 * no clock but the `now` passed in; wishctl_watch.c owns the session and
 * draws what is here. Reading msgpack here, not there, keeps the screen
 * code free of the wire format.
 */
#ifndef MICROWISH_WISHCTL_WATCH_MODEL_H
#define MICROWISH_WISHCTL_WATCH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define WW_ID_MAX 32      /* task ids kept (longer ones are cut) */
#define WW_NAME_MAX 64    /* skills, volunteer ids, users kept */
#define WW_TITLE_MAX 256  /* title bytes kept */
#define WW_WHO_MAX 256    /* bytes of "who is on it" kept */
#define WW_TASKS_MAX 2000 /* queued tasks kept (the snapshot has <= 500) */
#define WW_CHANGES 200    /* newest changes kept for the screen */

/* The statuses the server counts (docs/protocol.md, "The live queue"),
 * in the order the screen shows them; the first WW_NQUEUED are the
 * queued ones, kept in the table. */
#define WW_NSTATUS 7
#define WW_NQUEUED 3
extern const char *const ww_status_names[WW_NSTATUS];

typedef struct ww_task {
    char id[WW_ID_MAX];
    char status[16];
    char skill[WW_NAME_MAX];
    char title[WW_TITLE_MAX];
    char who[WW_WHO_MAX]; /* "Li Lei (li-lei) checked in; ..." */
    int64_t start, end, filled, quantity;
} ww_task;

/* One line of "recent changes": a queue event, or a note of ours
 * (connection lost, reconnected) in task.title. */
typedef struct ww_change {
    int64_t at;
    bool note;
    char change[16];
    char vol[WW_NAME_MAX];
    ww_task task;
} ww_change;

typedef struct ww_stats {
    bool have;
    double median_s;
    int64_t matched, late, sent, accepted, declined, lapsed;
} ww_stats;

/* The queue. Zero-initialise it; free it with ww_model_free(). */
typedef struct ww_model {
    ww_task *tasks; /* queued tasks, soonest start first */
    size_t ntasks, cap;
    int64_t counts[WW_NSTATUS];
    ww_stats stats;
    ww_change changes[WW_CHANGES]; /* a ring, changes[nchanges % N] next */
    size_t nchanges;
} ww_model;

/* Frees the task table; m may be reused after, empty. */
void ww_model_free(ww_model *m);

/* Copies the string at key in map into buf[size], cut before a character
 * that does not fit; "" when absent or not a string. */
void ww_copy(const msgpack_object *map, const char *key, char *buf,
             size_t size);

/* The integer at key in map, or dflt. */
int64_t ww_int(const msgpack_object *map, const char *key, int64_t dflt);

/* Reads a task map (docs/protocol.md, "Results") into *t. Returns 0, or
 * -1 when it has no task_id. */
int ww_task_read(ww_task *t, const msgpack_object *o);

/* True when t's status is one of the queued ones. */
bool ww_task_queued(const ww_task *t);

/* True when t is open, not filled, and its start (Unix seconds) has
 * passed at now. */
bool ww_task_late(const ww_task *t, int64_t now);

/* A task as an event left it: updated in place and re-sorted, added, or
 * taken out when no longer queued. A task that does not fit (table full,
 * out of memory) is not kept; the counts still tell it. */
void ww_task_apply(ww_model *m, const ww_task *t);

/* Reads a counts map {review, open, ...} into m->counts; statuses it
 * lacks keep their count. o may be NULL. */
void ww_counts_read(ww_model *m, const msgpack_object *o);

/* The sum of the queued statuses' counts. */
int64_t ww_queued_count(const ww_model *m);

/* The queue.watch result {region, tasks, stats}: the table anew and the
 * counts. (The caller reads `region`: it is the session's, not the
 * queue's.) */
void ww_snapshot_read(ww_model *m, const msgpack_object *res);

/* The stats result (docs/protocol.md, "Service, credit and ratings")
 * into m->stats and m->counts. */
void ww_stats_read(ww_model *m, const msgpack_object *res);

/* Takes the next slot of the ring of changes, zeroed; it overwrites the
 * oldest once WW_CHANGES are kept. */
ww_change *ww_change_next(ww_model *m);

#endif
