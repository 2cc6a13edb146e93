/* route.h -- where a call goes on a Redis Cluster, and what to do with a
 * redirection: the decisions of the cluster store, without its I/O.
 *
 * The cluster store (cluster_store.c, docs/cluster.md) sends each call to the
 * master of the call's slot (route_slot()) and hands every reply to
 * route_decide() before the caller sees it. route_decide() says: give
 * the reply to the caller; resend to the node a MOVED names (and refresh
 * the slot map); send ASKING and the call to the node an ASK names; wait
 * and try again (TRYAGAIN, CLUSTERDOWN); or give up with UNAVAILABLE.
 * Pure functions over a small per-call state (route_attempt), so every
 * path is unit-tested without a cluster, and a hostile or confused
 * cluster cannot keep a call going past its deadline or its redirect
 * budget.
 */
#ifndef WISHD_ROUTE_H
#define WISHD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "server/redirect.h"

/* Limits of one call. */
typedef struct route_policy {
    int64_t timeout_ms;     /* redis-timeout: from the first send */
    int max_redirects;      /* MOVED and ASK followed, at most */
    int64_t backoff_min_ms; /* first wait after TRYAGAIN/CLUSTERDOWN */
    int64_t backoff_max_ms; /* longest wait */
} route_policy;

/* The defaults docs/cluster.md describes: 5 redirects, waits of 10 ms
 * doubling to 200 ms, within timeout_ms. */
route_policy route_policy_default(int64_t timeout_ms);

/* One call's progress. Zero it, then set slot, script and first_ms. */
typedef struct route_attempt {
    int slot;         /* the call's slot (route_slot()), -1: keyless */
    bool script;      /* runs a function (route_is_script()) */
    int64_t first_ms; /* monotonic ms of its first send */
    int redirects;    /* MOVED and ASK followed so far */
    int retries;      /* TRYAGAIN and CLUSTERDOWN waits so far */
} route_attempt;

typedef enum route_action {
    ROUTE_REPLY,   /* give the reply to the caller as it is */
    ROUTE_MOVED,   /* send again to target now; refresh the map */
    ROUTE_ASK,     /* send ASKING then the call to target, once */
    ROUTE_RETRY,   /* wait delay_ms, then send to the slot's master */
    ROUTE_GIVE_UP, /* answer UNAVAILABLE; `why` says why */
} route_action;

typedef struct route_decision {
    route_action action;
    bool refresh;     /* refresh the slot map (MOVED, CLUSTERDOWN) */
    int64_t delay_ms; /* ROUTE_RETRY: how long to wait */
    redirect target;  /* ROUTE_MOVED, ROUTE_ASK: where (host "" means
                         the host of the node that answered) */
    const char *why;  /* ROUTE_GIVE_UP: a static reason, for the log */
    bool late;        /* ROUTE_GIVE_UP: the call's deadline came first */
} route_decision;

/* The slot a command must be sent to, from its arguments (argv[i] of
 * argvlen[i] bytes): for FCALL and FCALL_RO (any case) the first key, when
 * numkeys (argv[2]) is at least 1; -1 for commands that name no key
 * (FUNCTION, PING, AUTH, ASKING, CLUSTER, INFO, SCRIPT, READONLY, HELLO),
 * and for an FCALL with no key or a malformed numkeys; otherwise argv[1],
 * as in every plain command wishd sends (LRANGE, SADD, SMEMBERS ...).
 * -1 when argc < 2. */
int route_slot(int argc, const char **argv, const size_t *argvlen);

/* The key route_slot() hashes (its bytes, *len of them, inside argv), or
 * NULL when the command names none. */
const char *route_key(int argc, const char **argv, const size_t *argvlen,
                      size_t *len);

/* True when the command runs a Redis function (FCALL, FCALL_RO, any
 * case). A function reads and writes keys of its city it does not
 * declare: while the city's slot migrates, the target node has only part
 * of them, and running the function there (ASKING) would see the rest as
 * missing. So an ASK for a function call is waited out like TRYAGAIN,
 * never followed (docs/cluster.md, "Migrating a city"). */
bool route_is_script(int argc, const char **argv, const size_t *argvlen);

/* Decides what to do with reply (NULL is not allowed: a lost link or a
 * deadline is the store's own UNAVAILABLE, never a redirection) for the
 * call a at now_ms, and updates a's counters. Non-error replies and error
 * replies that are no cluster redirection are ROUTE_REPLY. A MOVED or ASK
 * for another slot than a->slot, a malformed one, or one past
 * max_redirects is ROUTE_GIVE_UP; so is a TRYAGAIN or CLUSTERDOWN whose
 * wait would end at or after first_ms + timeout_ms (out->late set). The
 * wait is backoff_min_ms doubled per earlier retry, at most
 * backoff_max_ms. An ASK for a call with a->script is ROUTE_RETRY as a
 * TRYAGAIN is: resent to the slot's master until the slot has moved. */
route_action route_decide(route_attempt *a, const redisReply *reply,
                          int64_t now_ms, const route_policy *p,
                          route_decision *out);

#endif
