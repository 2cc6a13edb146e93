/* cluster_refresh.c -- the slot map, asked of one node after another
 * (see cluster_refresh.h).
 *
 * A refresh walks a list of candidate nodes. For each it opens a probe
 * link, sends CLUSTER SHARDS (then CLUSTER SLOTS if refused), and parses
 * the reply into a scratch map. Whatever happens on the probe (an
 * answer, an error, a lost or timed-out connection), the next step runs
 * from an event made active for it: the probe cannot be freed inside its
 * own hiredis callbacks.
 */
#include "server/cluster_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "server/log.h"

#define REFRESH_CANDIDATES_MAX (SLOTMAP_NODES_MAX + SEEDS_MAX)

typedef struct refresh_node {
    char host[SLOTMAP_HOST_MAX];
    int port;
} refresh_node;

enum refresh_step {
    STEP_NEXT, /* the current candidate failed: ask the next one */
    STEP_MAP,  /* the current candidate gave a map (in scratch) */
};

struct cluster_refresh {
    struct event_base *base;
    cluster_link_options probe_opts; /* host/port set per candidate */
    char *user, *password;
    seed seeds[SEEDS_MAX];
    int nseeds;
    cluster_refresh_cb *on_done;
    void *arg;

    refresh_node cand[REFRESH_CANDIDATES_MAX];
    int ncand;
    int next;      /* the candidate to ask next */
    unsigned turn; /* rotates the first master asked */
    bool busy;
    bool again;       /* requested while busy */
    bool tried_slots; /* CLUSTER SLOTS sent on the current probe */
    cluster_link *probe;
    enum refresh_step step;
    bool stepped; /* a step is due for the current probe */
    struct event *step_ev;
    struct event *ask_timer; /* the current candidate's deadline */
    slotmap scratch;
    /* Why the current probe failed, when its link does not say. */
    char why[CLUSTER_LINK_ERROR_MAX];
    char error[CLUSTER_REFRESH_ERROR_MAX];
};

static void refresh_try_next(cluster_refresh *r);

/* ------------------------------------------------------------------------
 * Candidates
 * --------------------------------------------------------------------- */

static void refresh_add(cluster_refresh *r, const char *host, int port)
{
    for (int i = 0; i < r->ncand; i++)
        if (r->cand[i].port == port && strcmp(r->cand[i].host, host) == 0)
            return;
    if (r->ncand == REFRESH_CANDIDATES_MAX) return;
    refresh_node *n = &r->cand[r->ncand++];
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
}

/* Fills the candidate list: current's masters from a rotating start,
 * then the seeds. */
static void refresh_fill(cluster_refresh *r, const slotmap *current)
{
    r->ncand = 0;
    r->next = 0;
    int n = current != NULL ? current->nnodes : 0;
    unsigned first = n > 0 ? r->turn++ % (unsigned)n : 0;
    for (int i = 0; i < n; i++) {
        const slotmap_node *m = &current->nodes[(first + (unsigned)i) % n];
        refresh_add(r, m->host, m->port);
    }
    for (int i = 0; i < r->nseeds; i++)
        refresh_add(r, r->seeds[i].host, r->seeds[i].port);
}

/* ------------------------------------------------------------------------
 * The probe
 * --------------------------------------------------------------------- */

/* Ends the work on the current probe: the step runs from the loop. */
static void refresh_step(cluster_refresh *r, enum refresh_step step)
{
    /* The first outcome counts: a map, then the probe's connection
     * closing before the step runs, is still a map. */
    if (r->stepped) return;
    r->stepped = true;
    r->step = step;
    event_active(r->step_ev, EV_TIMEOUT, 1);
}

static void refresh_on_reply(redisAsyncContext *ac, void *reply_,
                             void *privdata)
{
    cluster_refresh *r = privdata;
    const redisReply *reply = reply_;
    if (r->probe == NULL) return; /* freed: the probe is being closed */
    if (reply == NULL) {
        refresh_step(r, STEP_NEXT);
        return;
    }
    const char *host = cluster_link_host(r->probe);
    char err[160] = "";
    int rc;
    if (!r->tried_slots && reply->type == REDIS_REPLY_ERROR) {
        /* Older than Redis 7: ask the same node for CLUSTER SLOTS. */
        static const char *argv[] = {"CLUSTER", "SLOTS"};
        static const size_t lens[] = {7, 5};
        r->tried_slots = true;
        if (cluster_link_send(r->probe, false, 2, argv, lens, refresh_on_reply,
                              r) != 0)
            refresh_step(r, STEP_NEXT);
        return;
    }
    if (r->tried_slots)
        rc = slotmap_from_slots(&r->scratch, reply, host, err, sizeof err);
    else
        rc = slotmap_from_shards(&r->scratch, reply, host, err, sizeof err);
    if (rc != 0) {
        log_warn("redis cluster: %s:%d gave a slot map we refuse: %s", host,
                 cluster_link_port(r->probe), err);
        snprintf(r->why, sizeof r->why, "a slot map we refuse: %s", err);
        refresh_step(r, STEP_NEXT);
        return;
    }
    refresh_step(r, STEP_MAP);
}

static void refresh_on_probe_state(void *arg, cluster_link *l, bool up)
{
    cluster_refresh *r = arg;
    if (l != r->probe) return;
    if (!up) {
        refresh_step(r, STEP_NEXT);
        return;
    }
    static const char *argv[] = {"CLUSTER", "SHARDS"};
    static const size_t lens[] = {7, 6};
    r->tried_slots = false;
    if (cluster_link_send(l, false, 2, argv, lens, refresh_on_reply, r) != 0)
        refresh_step(r, STEP_NEXT);
}

/* Asks the next candidate, or ends the refresh when none is left. */
static void refresh_try_next(cluster_refresh *r)
{
    while (r->next < r->ncand) {
        refresh_node *n = &r->cand[r->next++];
        r->why[0] = '\0';
        cluster_link_options o = r->probe_opts;
        o.host = n->host;
        o.port = n->port;
        r->probe = cluster_link_new(r->base, &o, refresh_on_probe_state, r);
        if (r->probe != NULL) {
            /* A node stopped after it answered PING would hold the
             * refresh forever: the whole question has one deadline. */
            int64_t ms = r->probe_opts.setup_timeout_ms;
            struct timeval tv = {(time_t)(ms / 1000),
                                 (suseconds_t)((ms % 1000) * 1000)};
            evtimer_add(r->ask_timer, &tv);
            return;
        }
    }
    r->busy = false;
    r->on_done(r->arg, NULL);
    if (r->again && !r->busy) {
        /* Ask the same nodes once more. */
        r->again = false;
        r->busy = true;
        r->next = 0;
        refresh_try_next(r);
    }
}

static void refresh_on_step(evutil_socket_t fd, short what, void *arg)
{
    cluster_refresh *r = arg;
    cluster_link *probe = r->probe;
    r->probe = NULL;
    r->stepped = false;
    evtimer_del(r->ask_timer);
    if (r->step == STEP_NEXT && probe != NULL) {
        const char *why = cluster_link_error(probe);
        if (why[0] == '\0') why = r->why[0] ? r->why : "no slot map";
        snprintf(r->error, sizeof r->error, "%s:%d: %s",
                 cluster_link_host(probe), cluster_link_port(probe), why);
    } else if (r->step == STEP_MAP) {
        r->error[0] = '\0';
    }
    cluster_link_free(probe);
    if (r->step == STEP_NEXT) {
        refresh_try_next(r);
        return;
    }
    r->busy = false;
    r->on_done(r->arg, &r->scratch);
    if (r->again && !r->busy) {
        r->again = false;
        cluster_refresh_request(r, &r->scratch);
    }
}

static void refresh_on_ask_timer(evutil_socket_t fd, short what, void *arg)
{
    cluster_refresh *r = arg;
    if (r->probe != NULL) {
        log_warn("redis cluster: %s:%d did not give the slot map in time",
                 cluster_link_host(r->probe), cluster_link_port(r->probe));
        snprintf(r->why, sizeof r->why, "no slot map in time");
        refresh_step(r, STEP_NEXT);
    }
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

cluster_refresh *cluster_refresh_new(struct event_base *base,
                                     const cluster_link_options *probe,
                                     const seed *seeds, int nseeds,
                                     cluster_refresh_cb *on_done, void *arg)
{
    cluster_refresh *r = calloc(1, sizeof(*r));
    if (r == NULL) return NULL;
    r->base = base;
    r->probe_opts = *probe;
    r->probe_opts.library = NULL;
    r->probe_opts.backoff_min_ms = 0;
    r->probe_opts.backoff_max_ms = 0;
    r->user = probe->user ? strdup(probe->user) : NULL;
    r->password = probe->password ? strdup(probe->password) : NULL;
    r->probe_opts.user = r->user;
    r->probe_opts.password = r->password;
    if (nseeds > SEEDS_MAX) nseeds = SEEDS_MAX;
    if (nseeds > 0) memcpy(r->seeds, seeds, (size_t)nseeds * sizeof(*seeds));
    r->nseeds = nseeds;
    r->on_done = on_done;
    r->arg = arg;
    r->step_ev = event_new(base, -1, 0, refresh_on_step, r);
    r->ask_timer = evtimer_new(base, refresh_on_ask_timer, r);
    if (r->step_ev == NULL || r->ask_timer == NULL ||
        (probe->user && r->user == NULL) ||
        (probe->password && r->password == NULL)) {
        cluster_refresh_free(r);
        return NULL;
    }
    return r;
}

void cluster_refresh_free(cluster_refresh *r)
{
    if (r == NULL) return;
    cluster_link *probe = r->probe;
    r->probe = NULL; /* its reply callback, run by the free, sees this */
    cluster_link_free(probe);
    if (r->step_ev) event_free(r->step_ev);
    if (r->ask_timer) event_free(r->ask_timer);
    free(r->user);
    free(r->password);
    free(r);
}

void cluster_refresh_request(cluster_refresh *r, const slotmap *current)
{
    if (r->busy) {
        r->again = true;
        return;
    }
    r->busy = true;
    refresh_fill(r, current);
    /* Start from the loop: on_done must not run inside this call. */
    refresh_step(r, STEP_NEXT);
}

bool cluster_refresh_busy(const cluster_refresh *r)
{
    return r->busy;
}

const char *cluster_refresh_error(const cluster_refresh *r)
{
    return r->error;
}
