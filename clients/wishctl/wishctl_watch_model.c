/* wishctl_watch_model.c -- the queue `wishctl watch` shows, as data:
 * the snapshot, the events applied to it, the counts and stats, and the
 * ring of recent changes; see wishctl_watch_model.h. */
#include "clients/wishctl/wishctl_watch_model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

const char *const ww_status_names[WW_NSTATUS] = {
    "review", "open", "filled", "done", "rejected", "cancelled", "expired"};

void ww_copy(const msgpack_object *map, const char *key, char *buf, size_t size)
{
    const char *s = NULL;
    size_t n = 0;
    proto_error err;

    if (proto_get_str(map, key, false, 0, SIZE_MAX, &s, &n, &err) != 0) n = 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (n > 0) memcpy(buf, s, n);
    buf[n] = '\0';
}

int64_t ww_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    int64_t v = dflt;
    proto_error err;

    if (proto_get_int(map, key, false, INT64_MIN, INT64_MAX, &v, &err) < 0)
        v = dflt;
    return v;
}

/* Writes who is on a task, from its `assignees` [{volunteer_id, name,
 * status}], into buf[size]: "Li Lei (li-lei) assigned; han checked in",
 * those cancelled left out; "" for nobody. */
static void ww_who(const msgpack_object *asg, char *buf, size_t size)
{
    static const char *const words[][2] = {{"active", "checked in"},
                                           {"finished", "checked out"}};
    size_t len = 0;

    buf[0] = '\0';
    if (asg == NULL || asg->type != MSGPACK_OBJECT_ARRAY) return;
    for (uint32_t i = 0; i < asg->via.array.size && len + 1 < size; i++) {
        const msgpack_object *a = &asg->via.array.ptr[i];
        char id[WW_NAME_MAX], name[WW_NAME_MAX], st[16];
        const char *say;
        int n;
        ww_copy(a, "volunteer_id", id, sizeof(id));
        ww_copy(a, "name", name, sizeof(name));
        ww_copy(a, "status", st, sizeof(st));
        if (!id[0] || strcmp(st, "cancelled") == 0) continue;
        say = st;
        for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
            if (strcmp(st, words[k][0]) == 0) say = words[k][1];
        if (name[0] && strcmp(name, id) != 0)
            n = snprintf(buf + len, size - len, "%s%s (%s) %s", len ? "; " : "",
                         name, id, say);
        else
            n = snprintf(buf + len, size - len, "%s%s %s", len ? "; " : "", id,
                         say);
        if (n < 0 || (size_t)n >= size - len) {
            buf[len] = '\0'; /* a whole one, or none */
            break;
        }
        len += (size_t)n;
    }
}

int ww_task_read(ww_task *t, const msgpack_object *o)
{
    memset(t, 0, sizeof(*t));
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP) return -1;
    ww_copy(o, "task_id", t->id, sizeof(t->id));
    ww_copy(o, "status", t->status, sizeof(t->status));
    ww_copy(o, "skill", t->skill, sizeof(t->skill));
    ww_copy(o, "title", t->title, sizeof(t->title));
    t->start = ww_int(o, "start", 0);
    t->end = ww_int(o, "end", 0);
    t->filled = ww_int(o, "filled", 0);
    t->quantity = ww_int(o, "quantity", 1);
    ww_who(proto_map_get(o, "assignees"), t->who, sizeof(t->who));
    return t->id[0] ? 0 : -1;
}

bool ww_task_queued(const ww_task *t)
{
    for (int i = 0; i < WW_NQUEUED; i++)
        if (strcmp(t->status, ww_status_names[i]) == 0) return true;
    return false;
}

bool ww_task_late(const ww_task *t, int64_t now)
{
    return strcmp(t->status, "open") == 0 && t->filled < t->quantity &&
           t->start <= now;
}

/* Soonest start first; ids "T9" before "T10". */
static int ww_task_cmp(const void *pa, const void *pb)
{
    const ww_task *a = pa, *b = pb;
    size_t la = strlen(a->id), lb = strlen(b->id);

    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Adds t to the table. Returns 0, or -1 when full or out of memory (the
 * task is then not shown; the counts still are). */
static int ww_task_push(ww_model *m, const ww_task *t)
{
    if (m->ntasks == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        ww_task *p;
        if (m->cap >= WW_TASKS_MAX) return -1;
        if (cap > WW_TASKS_MAX) cap = WW_TASKS_MAX;
        if ((p = realloc(m->tasks, cap * sizeof(*p))) == NULL) return -1;
        m->tasks = p;
        m->cap = cap;
    }
    m->tasks[m->ntasks++] = *t;
    return 0;
}

void ww_task_apply(ww_model *m, const ww_task *t)
{
    size_t i;

    for (i = 0; i < m->ntasks; i++)
        if (strcmp(m->tasks[i].id, t->id) == 0) break;
    if (i < m->ntasks) {
        memmove(&m->tasks[i], &m->tasks[i + 1],
                (m->ntasks - i - 1) * sizeof(*m->tasks));
        m->ntasks--;
    }
    if (!ww_task_queued(t) || ww_task_push(m, t) < 0) return;
    for (i = m->ntasks - 1; i > 0 && ww_task_cmp(t, &m->tasks[i - 1]) < 0; i--)
        m->tasks[i] = m->tasks[i - 1];
    m->tasks[i] = *t;
}

void ww_counts_read(ww_model *m, const msgpack_object *o)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP) return;
    for (int i = 0; i < WW_NSTATUS; i++)
        m->counts[i] = ww_int(o, ww_status_names[i], m->counts[i]);
}

int64_t ww_queued_count(const ww_model *m)
{
    int64_t n = 0;

    for (int i = 0; i < WW_NQUEUED; i++)
        n += m->counts[i];
    return n;
}

void ww_snapshot_read(ww_model *m, const msgpack_object *res)
{
    const msgpack_object *tasks = proto_map_get(res, "tasks");
    ww_task t;

    m->ntasks = 0;
    if (tasks != NULL && tasks->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < tasks->via.array.size; i++)
            if (ww_task_read(&t, &tasks->via.array.ptr[i]) == 0 &&
                ww_task_queued(&t))
                ww_task_push(m, &t);
    /* An empty queue has no table yet: qsort(NULL, 0) is undefined. */
    if (m->ntasks > 1)
        qsort(m->tasks, m->ntasks, sizeof(*m->tasks), ww_task_cmp);
    ww_counts_read(m, proto_map_get(res, "stats"));
}

void ww_stats_read(ww_model *m, const msgpack_object *res)
{
    const msgpack_object *offers = proto_map_get(res, "offers");
    proto_error err;
    double median = 0;

    if (res == NULL || res->type != MSGPACK_OBJECT_MAP) return;
    if (proto_get_double(res, "median_match_s", false, 0, 1e12, &median, &err) <
        0)
        median = 0;
    m->stats.have = true;
    m->stats.median_s = median;
    m->stats.matched = ww_int(res, "matched", 0);
    m->stats.late = ww_int(res, "unmatched_past_start", 0);
    if (offers != NULL && offers->type == MSGPACK_OBJECT_MAP) {
        m->stats.sent = ww_int(offers, "sent", 0);
        m->stats.accepted = ww_int(offers, "accepted", 0);
        m->stats.declined = ww_int(offers, "declined", 0);
        m->stats.lapsed = ww_int(offers, "lapsed", 0);
    }
    ww_counts_read(m, proto_map_get(res, "counts"));
}

ww_change *ww_change_next(ww_model *m)
{
    ww_change *ch = &m->changes[m->nchanges++ % WW_CHANGES];

    memset(ch, 0, sizeof(*ch));
    return ch;
}

void ww_model_free(ww_model *m)
{
    free(m->tasks);
    m->tasks = NULL;
    m->ntasks = m->cap = 0;
}
