/* cluster_store_pubsub.c -- the cluster store's sharded Pub/Sub
 * (cluster_store.h, docs/cluster.md "Events on sharded Pub/Sub"; types
 * and invariants in cluster_store_int.h).
 *
 * Each node may have a pub/sub link (cluster_sub.h) and a FIFO of the
 * SSUBSCRIBEs sent on it that are not fully answered (Redis answers
 * commands in order: one "ssubscribe" per channel, or one error). Each
 * listened city (cs_city) is NONE, PENDING on a node, or LIVE on a node;
 * cs_subs_reconcile() moves every city that is NONE, or on a node that no
 * longer owns its slot, to its owner of the moment. A FIFO entry whose
 * city has since moved is answered and forgotten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cluster_store_int.h"
#include "server/keyslot.h"
#include "server/log.h"

static void cs_on_sub_state(void *arg, cluster_sub *l, bool up);
static void cs_on_sub_reply(void *arg, cluster_sub *l, const redisReply *r);

/* The city named name[0..len), or -1. */
static long cs_city_find(const cluster_store *cs, const char *name, size_t len)
{
    if (len > TOKEN_FIELD_MAX) return -1;
    for (size_t i = 0; i < cs->ncities; i++)
        if (strncmp(cs->cities[i].name, name, len) == 0 &&
            cs->cities[i].name[len] == '\0')
            return (long)i;
    return -1;
}

/* The city of a channel "<prefix>{<city>}" of one of our patterns, or
 * -1. */
static long cs_city_of_channel(const cluster_store *cs, const char *ch,
                               size_t len)
{
    for (int i = 0; i < cs->npatterns; i++) {
        const cs_pattern *p = &cs->patterns[i];
        if (len < p->len + 3 || memcmp(ch, p->prefix, p->len) != 0 ||
            ch[p->len] != '{' || ch[len - 1] != '}')
            continue;
        return cs_city_find(cs, ch + p->len + 1, len - p->len - 2);
    }
    return -1;
}

/* Marks city c not subscribed (to be subscribed again by the reconcile,
 * not before retry_ms). */
static void cs_city_lost(cluster_store *cs, cs_city *c, int64_t retry_ms)
{
    c->state = CITY_NONE;
    c->on = NULL;
    c->retry_ms = retry_ms;
    cs->subs_dirty = true;
}

void cs_node_subs_lost(cs_node *n)
{
    cluster_store *cs = n->cs;
    for (size_t i = 0; i < cs->ncities; i++)
        if (cs->cities[i].on == n) cs_city_lost(cs, &cs->cities[i], 0);
    n->wait_head = n->nwaits = 0;
}

/* Opens n's pub/sub link if it has none. Returns 0, or -1 on OOM. */
static int cs_node_sub_open(cluster_store *cs, cs_node *n)
{
    if (n->sub != NULL) return 0;
    cluster_link_options lo = {
        .host = cluster_link_host(n->link),
        .port = cluster_link_port(n->link),
        .user = cs->user,
        .password = cs->password,
        .setup_timeout_ms = cs->o.timeout_ms,
        .backoff_min_ms = cs->o.backoff_min_ms,
        .backoff_max_ms = cs->o.backoff_max_ms,
    };
    n->sub =
        cluster_sub_new(cs->base, &lo, cs_on_sub_state, cs_on_sub_reply, n);
    return n->sub != NULL ? 0 : -1;
}

/* Appends a wait to n's FIFO. Returns 0, or -1 on OOM. */
static int cs_node_wait_push(cs_node *n, uint32_t city, uint32_t left)
{
    if (n->nwaits == n->wait_cap) {
        size_t cap = n->wait_cap ? n->wait_cap * 2 : 16;
        cs_sub_wait *w = malloc(cap * sizeof(*w));
        if (w == NULL) return -1;
        for (size_t i = 0; i < n->nwaits; i++)
            w[i] = n->waits[(n->wait_head + i) % n->wait_cap];
        free(n->waits);
        n->waits = w;
        n->wait_cap = cap;
        n->wait_head = 0;
    }
    n->waits[(n->wait_head + n->nwaits) % n->wait_cap] =
        (cs_sub_wait){.city = city, .left = left};
    n->nwaits++;
    return 0;
}

static void cs_node_wait_pop(cs_node *n)
{
    n->wait_head = (n->wait_head + 1) % n->wait_cap;
    n->nwaits--;
}

/* Sends SSUBSCRIBE of city i's channels (one per pattern, all in its
 * slot) on n's ready pub/sub link. Returns 0, or -1. */
static int cs_city_subscribe(cluster_store *cs, size_t i, cs_node *n)
{
    cs_city *c = &cs->cities[i];
    char chans[CLUSTER_STORE_PATTERNS_MAX][TOKEN_FIELD_MAX + 80];
    const char *argv[CLUSTER_STORE_PATTERNS_MAX + 1] = {"SSUBSCRIBE"};
    size_t lens[CLUSTER_STORE_PATTERNS_MAX + 1] = {10};
    for (int k = 0; k < cs->npatterns; k++) {
        int len =
            snprintf(chans[k], sizeof(chans[k]), "%.*s{%s}",
                     (int)cs->patterns[k].len, cs->patterns[k].prefix, c->name);
        if (len < 0 || (size_t)len >= sizeof(chans[k])) return -1;
        argv[k + 1] = chans[k];
        lens[k + 1] = (size_t)len;
    }
    if (cs_node_wait_push(n, (uint32_t)i, (uint32_t)cs->npatterns) != 0)
        return -1;
    if (cluster_sub_send(n->sub, cs->npatterns + 1, argv, lens) != 0) {
        n->nwaits--; /* undo the push */
        return -1;
    }
    c->state = CITY_PENDING;
    c->on = n;
    return 0;
}

void cs_subs_reconcile(cluster_store *cs)
{
    if (cs->freeing || cs->npatterns == 0) return;
    cs->subs_dirty = false;
    int64_t now = cs_now_ms();
    for (size_t i = 0; i < cs->ncities; i++) {
        cs_city *c = &cs->cities[i];
        cs_node *owner = cs_owner(cs, c->slot);
        if (c->state != CITY_NONE && c->on == owner) continue;
        /* On a node that is no longer its master: the slot moved or
         * failed over. Its FIFO entry there is answered and dropped. */
        if (c->state != CITY_NONE) cs_city_lost(cs, c, 0);
        if (owner == NULL || now < c->retry_ms ||
            cs_node_sub_open(cs, owner) != 0 ||
            !cluster_sub_ready(owner->sub) ||
            cs_city_subscribe(cs, i, owner) != 0)
            cs->subs_dirty = true;
    }
}

static void cs_on_sub_state(void *arg, cluster_sub *l, bool up)
{
    cs_node *n = arg;
    cluster_store *cs = n->cs;
    if (!up) {
        cs_node_subs_lost(n);
        cs_request_refresh(cs);
    }
    cs_subs_reconcile(cs);
}

/* A city's channels are all confirmed on n: it is live, and every
 * subscriber catches up. */
static void cs_city_live(cluster_store *cs, cs_city *c)
{
    char name[TOKEN_FIELD_MAX + 1]; /* a callback may grow cs->cities */
    c->state = CITY_LIVE;
    memcpy(name, c->name, sizeof(name));
    for (int k = 0; k < cs->npatterns; k++)
        if (cs->patterns[k].on_subscribed != NULL)
            cs->patterns[k].on_subscribed(cs->patterns[k].arg, name);
}

/* Everything n's pub/sub link receives once ready. */
static void cs_on_sub_reply(void *arg, cluster_sub *l, const redisReply *r)
{
    cs_node *n = arg;
    cluster_store *cs = n->cs;
    if (r->type == REDIS_REPLY_ERROR) {
        /* The SSUBSCRIBE at the head was refused (MOVED: the map is
         * stale; CLUSTERDOWN...): ask for the map, try again later. */
        log_warn("redis cluster: %s:%d refused SSUBSCRIBE: %s",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 r->str);
        if (n->nwaits > 0) {
            cs_city *c = &cs->cities[n->waits[n->wait_head].city];
            cs_node_wait_pop(n);
            if (c->on == n)
                cs_city_lost(cs, c, cs_now_ms() + CLUSTER_STORE_SUB_RETRY_MS);
        }
        cs_request_refresh(cs);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    const redisReply *ch = r->element[1];
    if (strcmp(kind, "smessage") == 0) {
        if (r->element[2]->type != REDIS_REPLY_STRING) return;
        for (int k = 0; k < cs->npatterns; k++) {
            cs_pattern *p = &cs->patterns[k];
            if ((size_t)ch->len > p->len &&
                memcmp(ch->str, p->prefix, p->len) == 0) {
                p->on_message(p->arg, ch->str, r->element[2]->str,
                              (size_t)r->element[2]->len);
                return;
            }
        }
    } else if (strcmp(kind, "ssubscribe") == 0) {
        if (n->nwaits == 0) return;
        cs_sub_wait *w = &n->waits[n->wait_head];
        if (w->left > 0) w->left--;
        if (w->left > 0) return;
        cs_city *c = &cs->cities[w->city];
        cs_node_wait_pop(n);
        if (c->on == n && c->state == CITY_PENDING) cs_city_live(cs, c);
    } else if (strcmp(kind, "sunsubscribe") == 0) {
        /* The master gave the city's slot away (a migration finished, or
         * it became a replica): subscribe on the new owner, which the map
         * will name. We never send SUNSUBSCRIBE ourselves. */
        long i = cs_city_of_channel(cs, ch->str, (size_t)ch->len);
        if (i < 0 || cs->cities[i].on != n) return;
        log_info("redis cluster: %s:%d unsubscribed city %s (its slot "
                 "moved); subscribing it again",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 cs->cities[i].name);
        cs_city_lost(cs, &cs->cities[i], 0);
        cs_request_refresh(cs);
    }
}

/* ------------------------------------------------------------------------
 * Public API: cluster_store_psubscribe/listen/subscribed
 * --------------------------------------------------------------------- */

int cluster_store_psubscribe(cluster_store *cs, const char *pattern,
                             store_message_cb *on_message,
                             store_subscribed_cb *on_subscribed, void *arg)
{
    size_t len = strlen(pattern);
    if (len == 0 || pattern[len - 1] != '*' ||
        memchr(pattern, '*', len - 1) != NULL ||
        cs->npatterns == CLUSTER_STORE_PATTERNS_MAX)
        return -1;
    cs_pattern *p = &cs->patterns[cs->npatterns];
    if ((p->prefix = strndup(pattern, len - 1)) == NULL) return -1;
    p->len = len - 1;
    p->on_message = on_message;
    p->on_subscribed = on_subscribed;
    p->arg = arg;
    cs->npatterns++;
    /* Cities subscribed already lack the new channel: subscribe them
     * again, all their channels (SSUBSCRIBE of one held is harmless). */
    for (size_t i = 0; i < cs->ncities; i++)
        cs_city_lost(cs, &cs->cities[i], 0);
    cs_subs_reconcile(cs);
    return 0;
}

int cluster_store_listen(cluster_store *cs, const char *city, size_t len)
{
    if (cs_city_find(cs, city, len) >= 0) return 0;
    if (len == 0 || len > TOKEN_FIELD_MAX || memchr(city, '\0', len) != NULL ||
        cs->ncities == CLUSTER_STORE_CITIES_MAX) {
        if (cs->ncities == CLUSTER_STORE_CITIES_MAX &&
            !cs->cities_full_logged) {
            log_error("redis cluster: more than %d cities; the events of "
                      "the others are not delivered live",
                      CLUSTER_STORE_CITIES_MAX);
            cs->cities_full_logged = true;
        }
        return -1;
    }
    if (cs->ncities == cs->cities_cap) {
        size_t cap = cs->cities_cap ? cs->cities_cap * 2 : 16;
        cs_city *c = realloc(cs->cities, cap * sizeof(*c));
        if (c == NULL) return -1;
        cs->cities = c;
        cs->cities_cap = cap;
    }
    cs_city *c = &cs->cities[cs->ncities++];
    *c = (cs_city){.state = CITY_NONE};
    memcpy(c->name, city, len);
    c->name[len] = '\0';
    c->slot = (int)keyslot_of_city(c->name);
    cs->subs_dirty = true;
    cs_subs_reconcile(cs);
    return 0;
}

bool cluster_store_subscribed(const cluster_store *cs)
{
    if (!cs->had_map) return false;
    for (size_t i = 0; i < cs->ncities; i++)
        if (cs->cities[i].state != CITY_LIVE) return false;
    return true;
}
