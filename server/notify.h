/* notify.h -- events a user's apps did not get live, POSTed to the city's
 * own SMS or WeChat gateway (docs/protocol.md, "Notifications to closed
 * apps"; docs/operations.md).
 *
 * The queue lives in Redis (matcher/lua/70_notify.lua): emit() queues
 * each stored event with a due time when the webhook is on. This module:
 *
 *   - remembers, per city, the events events.c pushed to a live
 *     connection, and takes them off the queue (wish_notify_seen) at the
 *     next poll, before it claims anything;
 *   - every notify-poll ms, per city the sweeper knows, claims due events
 *     (wish_notify_claim, atomic: one wishd at a time has each, under a
 *     lease) while fewer than notify-max-inflight POSTs are out;
 *   - POSTs each as JSON, signed with HMAC-SHA256, over http or https
 *     (system CA store, SNI, host name checked), and reports the outcome
 *     (wish_notify_done): 2xx is delivered; anything else, no answer in
 *     notify-timeout ms or no connection is tried again after 1 s,
 *     2, 4, ... 300 s, until notify-retry-max tries.
 *
 * Bounds: at most notify-max-inflight POSTs, with their bodies, in
 * memory; a claim asks for no more than the free slots; a response is
 * read up to 64 KiB; the batch of seen events per city is bounded.
 *
 * Ownership: the notifier belongs to the wish_server (srv->notify), and
 * exists only when notify-webhook is set. Every POST in flight and its
 * connection belong to it and are dropped by notify_free() (their leases
 * run out in Redis, and the events are claimed again).
 */
#ifndef WISHD_NOTIFY_H
#define WISHD_NOTIFY_H

#include <stddef.h>

#include "server/server.h"

typedef struct notify notify;

/* Creates the notifier of srv (its store and sweeper must exist, and
 * srv->notify_key hold the key) for srv->cfg.notify_webhook, and starts
 * its timer. Returns NULL with a reason in why[why_size]: a URL it cannot
 * use (the caller exits 2), or no memory. */
notify *notify_new(wish_server *srv, char *why, size_t why_size);

/* Frees nt, abandoning the POSTs in flight. Call after store_free():
 * pending calls' callbacks point at it until then. NULL is a no-op. */
void notify_free(notify *nt);

/* Notes that the event whose inbox entry starts at `entry` (16 digits of
 * its id) was pushed to a live connection of user in city: it is taken
 * off the queue at the next poll. Past a bound per city (a burst) it is
 * forgotten, and may be POSTed as well: a text too many, never one too
 * few. nt NULL (no webhook) is a no-op. */
void notify_seen(notify *nt, const char *city, const char *user,
                 const char *entry);

#endif
