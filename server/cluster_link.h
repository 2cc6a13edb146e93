/* cluster_link.h -- one hiredis async connection to one Redis Cluster
 * node, for the cluster store (cluster_store.h).
 *
 * A link connects to host:port on the daemon's libevent base, sends AUTH
 * when a password is set, then (for a master link) FUNCTION LOAD REPLACE
 * of the library, and only then is ready: a master is never sent a call
 * before it has the functions, a replica just promoted included (the
 * store opens a new link to it). A link that drops or fails reconnects
 * by itself after a backoff doubling from backoff_min_ms to
 * backoff_max_ms, until it is freed; a probe link (backoff_min_ms 0)
 * connects once and stays down when it fails. Connecting and setting up
 * must end within setup_timeout_ms, else the link is dropped: hiredis
 * 0.14 would wait on a stopped node forever.
 *
 * The link does not own requests: cluster_link_send() hands fn and
 * privdata to hiredis, which runs fn exactly once per command, with NULL
 * when the connection goes. Nothing is resent here.
 *
 * Callbacks: on_state runs from the event loop when the link becomes
 * ready (up) and when a link that was connecting, setting up or ready
 * is lost (down). It may send on other links and create links, but must
 * not free this one: cluster_link_free() is for timers and other links'
 * callbacks, never from inside a hiredis callback of the link itself.
 */
#ifndef WISHD_CLUSTER_LINK_H
#define WISHD_CLUSTER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/async.h>

struct event_base;
typedef struct cluster_link cluster_link;

#define CLUSTER_LINK_ERROR_MAX 200 /* cluster_link_error(), its NUL too */

typedef void cluster_link_state_cb(void *arg, cluster_link *l, bool up);

typedef struct cluster_link_options {
    const char *host; /* copied */
    int port;
    const char *user;     /* ACL user for AUTH; NULL or "": default */
    const char *password; /* NULL or "": no AUTH */
    /* Redis Functions source loaded before the link is ready; NULL: none
     * (a probe that only asks for the slot map). Not copied: it must
     * outlive the link. */
    const char *library;
    int64_t setup_timeout_ms; /* connect + AUTH + load */
    int64_t backoff_min_ms;   /* 0: no reconnect (a probe) */
    int64_t backoff_max_ms;
} cluster_link_options;

/* Creates a link and starts connecting. Strings in *o are copied, except
 * library. on_state (may be NULL) gets arg. Returns NULL on OOM. */
cluster_link *cluster_link_new(struct event_base *base,
                               const cluster_link_options *o,
                               cluster_link_state_cb *on_state, void *arg);

/* Closes the connection and frees l: the callbacks of commands still in
 * flight run with a NULL reply before this returns; on_state does not
 * run. Not from inside a hiredis callback of l. NULL is a no-op. */
void cluster_link_free(cluster_link *l);

/* True when connected, authenticated and the library loaded. */
bool cluster_link_ready(const cluster_link *l);

/* Why l's last connect or set-up failed, "" when none did since it was
 * last ready: "AUTH refused (check redis-user and redis-password):
 * WRONGPASS ...", "a password is required (redis-password): NOAUTH ...",
 * "cannot connect: ...", "connect or setup timed out", "functions not
 * loaded: ...". Valid until l's next connect or its freeing. */
const char *cluster_link_error(const cluster_link *l);

/* The node's address, as given to cluster_link_new(). */
const char *cluster_link_host(const cluster_link *l);
int cluster_link_port(const cluster_link *l);

/* Sends one command (argv of argc strings with lengths) on a ready link;
 * with `asking`, ASKING goes first on the same connection, back to back,
 * so that nothing comes between them (a redirection by ASK). Returns 0
 * when sent (fn will run exactly once with privdata), -1 when the link
 * is not ready or hiredis refused it (fn will not run). */
int cluster_link_send(cluster_link *l, bool asking, int argc, const char **argv,
                      const size_t *argvlen, redisCallbackFn *fn,
                      void *privdata);

/* Drops the connection at once (the node is hung): callbacks in flight
 * run with NULL, on_state runs with down, and a reconnect is scheduled
 * (none for a probe). Same restriction as cluster_link_free(). */
void cluster_link_drop(cluster_link *l, const char *why);

#endif
