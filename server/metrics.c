/* metrics.c -- rendering wishd's metrics; see metrics.h. Nothing here
 * runs on the request path: the hooks are inline in the header. */
#include "server/metrics.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>

#include "server/config.h"
#include "server/conn.h"
#include "server/methods.h"
#include "server/server.h"
#include "server/store.h"

/* The same bounds as `le` label values, written as Prometheus clients
 * write them. */
static const char *const metrics_bucket_le[METRICS_BUCKETS] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",
};

static const char *const metrics_family_names[METRICS_FAMILIES] = {
    [METRICS_FAMILY_GENERAL] = "general",
    [METRICS_FAMILY_PASSWORD] = "password",
};

static const char *const metrics_drop_names[METRICS_DROPS] = {
    [METRICS_DROP_OUTPUT_BUFFER] = "output_buffer",
    [METRICS_DROP_IDLE] = "idle",
    [METRICS_DROP_FRAME_TIMEOUT] = "frame_timeout",
    [METRICS_DROP_HELLO_TIMEOUT] = "hello_timeout",
    [METRICS_DROP_MAX_CLIENTS] = "max_clients",
    [METRICS_DROP_PER_ADDR] = "per_addr",
    [METRICS_DROP_AUTHED_RESERVE] = "authed_reserve",
    [METRICS_DROP_TOKEN_EXPIRED] = "token_expired",
    [METRICS_DROP_MAX_FRAME] = "max_frame",
};

static const char *const metrics_rl_names[METRICS_RL_SCOPES] = {
    [METRICS_RL_USER] = "user",
    [METRICS_RL_ADDRESS] = "address",
    [METRICS_RL_HELLO] = "hello",
};

static const char *const metrics_ev_names[METRICS_EV_SOURCES] = {
    [METRICS_EV_LIVE] = "live",
    [METRICS_EV_REPLAY] = "replay",
};

static const char *const metrics_redis_names[METRICS_REDIS_RESULTS] = {
    [METRICS_REDIS_OK] = "ok",
    [METRICS_REDIS_LOST] = "lost",
    [METRICS_REDIS_TIMEOUT] = "timeout",
    [METRICS_REDIS_REFUSED] = "refused",
};

static const char *const metrics_replica_names[METRICS_REPLICA_RESULTS] = {
    [METRICS_REPLICA_ACKED] = "acked",
    [METRICS_REPLICA_UNREPLICATED] = "unreplicated",
    [METRICS_REPLICA_FAILED] = "failed",
};

static const char *const metrics_link_names[METRICS_LINKS] = {"command",
                                                              "pubsub"};

static const char *const metrics_sweep_names[METRICS_SWEEPS] = {
    [METRICS_SWEEP_LAPSED] = "lapsed",
    [METRICS_SWEEP_EXPIRED] = "expired",
    [METRICS_SWEEP_ENDED] = "ended",
    [METRICS_SWEEP_REMATCHED] = "rematched",
    [METRICS_SWEEP_ARCHIVED] = "archived",
    [METRICS_SWEEP_REMOVED] = "removed",
    [METRICS_SWEEP_ARCHIVE_FULL] = "archive_full",
    [METRICS_SWEEP_RELEASED] = "released",
    [METRICS_SWEEP_INDEXED] = "indexed",
};

/* The methods that hash or check a password in a kdf worker (auth.c):
 * argon2 at kdf-memory and kdf-time, tens of ms by design. */
static const char *const metrics_password_methods[] = {
    "auth.login", "auth.signup", "auth.reset", "account.update"};

/* ------------------------------------------------------------------------
 * Set-up
 * --------------------------------------------------------------------- */

int metrics_init(wish_metrics *m, const char *allow, char *why, size_t why_size)
{
    memset(m, 0, sizeof(*m));
    struct timeval tv;
    gettimeofday(&tv, NULL);
    m->start_unix_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    m->start_ns = metrics_now_ns();
    size_t n = methods_count();
    for (size_t i = 0; i < n; i++) {
        const char *name = methods_name(i);
        for (size_t j = 0; j < sizeof(metrics_password_methods) /
                                   sizeof(metrics_password_methods[0]);
             j++)
            if (strcmp(name, metrics_password_methods[j]) == 0)
                m->method_family[i] = METRICS_FAMILY_PASSWORD;
    }
    if (allow == NULL) allow = "";
    return metrics_allow_parse(allow, &m->allow, why, why_size) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Text format
 * --------------------------------------------------------------------- */

void metrics_put_label_value(struct evbuffer *out, const char *s)
{
    const char *run = s;
    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '"'  ? "\\\""
                          : *s == '\n' ? "\\n"
                                       : NULL;
        if (esc == NULL) continue;
        evbuffer_add(out, run, (size_t)(s - run));
        evbuffer_add(out, esc, 2);
        run = s + 1;
    }
    evbuffer_add(out, run, (size_t)(s - run));
}

/* Writes the HELP and TYPE lines of a metric family. Help texts are
 * ours and hold no backslash or newline, the only bytes HELP escapes. */
static void metrics_put_head(struct evbuffer *out, const char *name,
                             const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                        type);
}

/* Writes one sample: name, then suffix (NULL: none), the labels given as
 * name/value pairs ending with NULL (values escaped), and the value. */
static void metrics_put_sample(struct evbuffer *out, const char *name,
                               const char *suffix, const char *const *labels,
                               const char *value)
{
    evbuffer_add_printf(out, "%s%s", name, suffix ? suffix : "");
    if (labels != NULL && labels[0] != NULL) {
        for (size_t i = 0; labels[i] != NULL; i += 2) {
            evbuffer_add_printf(out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
            metrics_put_label_value(out, labels[i + 1]);
            evbuffer_add(out, "\"", 1);
        }
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add_printf(out, " %s\n", value);
}

/* Formats an integer sample value. */
static const char *metrics_u64(char *buf, size_t size, uint64_t v)
{
    snprintf(buf, size, "%llu", (unsigned long long)v);
    return buf;
}

/* Formats nanoseconds as seconds, exactly (no float rounding). */
static const char *metrics_secs(char *buf, size_t size, uint64_t ns)
{
    snprintf(buf, size, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
             (unsigned long long)(ns % 1000000000u));
    return buf;
}

/* One sample with at most one label (key NULL: none). */
static void metrics_put1(struct evbuffer *out, const char *name,
                         const char *key, const char *val, const char *value)
{
    const char *labels[] = {key, val, NULL};
    metrics_put_sample(out, name, NULL, key ? labels : NULL, value);
}

/* A counter family with one label over a fixed set of values, every
 * value written (0 included), so that rate() sees each from the start. */
static void metrics_put_enum(struct evbuffer *out, const char *name,
                             const char *type, const char *help,
                             const char *key, const char *const *names,
                             const uint64_t *counts, size_t n)
{
    char v[24];
    metrics_put_head(out, name, type, help);
    for (size_t i = 0; i < n; i++)
        metrics_put1(out, name, key, names[i],
                     metrics_u64(v, sizeof(v), counts[i]));
}

/* The samples of one histogram: cumulative buckets, +Inf, _sum, _count;
 * with one label (key NULL: none). */
static void metrics_put_hist(struct evbuffer *out, const char *name,
                             const char *key, const char *val,
                             const metrics_hist *h)
{
    char v[32];
    uint64_t cum = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        cum += h->buckets[i];
        const char *le = i < METRICS_BUCKETS ? metrics_bucket_le[i] : "+Inf";
        const char *with_key[] = {key, val, "le", le, NULL};
        const char *le_only[] = {"le", le, NULL};
        metrics_put_sample(out, name, "_bucket", key ? with_key : le_only,
                           metrics_u64(v, sizeof(v), cum));
    }
    const char *labels[] = {key, val, NULL};
    metrics_put_sample(out, name, "_sum", key ? labels : NULL,
                       metrics_secs(v, sizeof(v), h->sum_ns));
    metrics_put_sample(out, name, "_count", key ? labels : NULL,
                       metrics_u64(v, sizeof(v), cum));
}

/* ------------------------------------------------------------------------
 * Rendering
 * --------------------------------------------------------------------- */

/* The method name of index i, "unknown" for METRICS_METHOD_UNKNOWN: never
 * the bytes a client sent, which could be anything and would make a
 * series per typo. */
static const char *metrics_method_label(size_t i)
{
    return i < methods_count() ? methods_name(i) : "unknown";
}

static void metrics_render_process(const wish_metrics *m, struct evbuffer *out)
{
    char v[32];
    metrics_put_head(out, "wishd_build_info", "gauge",
                     "Always 1; the version of this wishd as a label.");
    metrics_put1(out, "wishd_build_info", "version", WISHD_VERSION, "1");
    metrics_put_head(out, "process_start_time_seconds", "gauge",
                     "Start time of the process since the Unix epoch in "
                     "seconds.");
    snprintf(v, sizeof(v), "%lld.%03lld", (long long)(m->start_unix_ms / 1000),
             (long long)(m->start_unix_ms % 1000));
    metrics_put1(out, "process_start_time_seconds", NULL, NULL, v);
    metrics_put_head(out, "wishd_uptime_seconds", "gauge",
                     "Seconds since wishd started, by the monotonic clock.");
    uint64_t now = metrics_now_ns();
    metrics_put1(out, "wishd_uptime_seconds", NULL, NULL,
                 metrics_secs(v, sizeof(v),
                              m->start_ns != 0 && now > m->start_ns
                                  ? now - m->start_ns
                                  : 0));
}

static void metrics_render_conns(const wish_server *srv, struct evbuffer *out)
{
    const wish_metrics *m = &srv->metrics;
    const char *names[METRICS_TRANSPORTS];
    uint64_t open[METRICS_TRANSPORTS] = {0};
    for (int t = 0; t < METRICS_TRANSPORTS; t++)
        names[t] = conn_transport_name((enum conn_transport)t);
    /* Counted here, not kept up to date on the way: a scrape every few
     * seconds walks the list once, and accepting and closing pay
     * nothing for it. */
    for (const conn *c = srv->conns; c != NULL; c = c->next)
        if (conn_is_open(c)) open[conn_transport_kind(c)]++;
    metrics_put_enum(out, "wishd_connections", "gauge",
                     "Open client connections, by transport.", "transport",
                     names, open, METRICS_TRANSPORTS);
    char v[24];
    metrics_put_head(out, "wishd_connections_unauthed", "gauge",
                     "Open client connections that have not said hello.");
    metrics_put1(out, "wishd_connections_unauthed", NULL, NULL,
                 metrics_u64(v, sizeof(v), srv->nunauthed));
    metrics_put_enum(out, "wishd_connections_accepted_total", "counter",
                     "Client connections accepted, by transport.", "transport",
                     names, m->accepted, METRICS_TRANSPORTS);
    metrics_put_enum(out, "wishd_clients_dropped_total", "counter",
                     "Clients closed or refused by a limit, by reason.",
                     "reason", metrics_drop_names, m->drops, METRICS_DROPS);
}

static void metrics_render_requests(const wish_metrics *m, struct evbuffer *out)
{
    char v[32];
    size_t nmethods = methods_count();
    metrics_put_head(out, "wishd_requests_total", "counter",
                     "Requests answered, by method and result code "
                     "(series appear once non-zero).");
    for (size_t i = 0; i < METRICS_METHODS_MAX; i++) {
        if (i >= nmethods && i != METRICS_METHOD_UNKNOWN) continue;
        for (int code = 0; code < METRICS_CODES; code++) {
            if (m->requests[i][code] == 0) continue;
            const char *labels[] = {"method", metrics_method_label(i), "code",
                                    proto_code_name(code), NULL};
            metrics_put_sample(out, "wishd_requests_total", NULL, labels,
                               metrics_u64(v, sizeof(v), m->requests[i][code]));
        }
    }
    metrics_put_head(out, "wishd_method_seconds_total", "counter",
                     "Seconds spent answering requests, by method; over "
                     "wishd_requests_total it is the mean latency.");
    for (size_t i = 0; i < METRICS_METHODS_MAX; i++) {
        if (i >= nmethods && i != METRICS_METHOD_UNKNOWN) continue;
        uint64_t n = 0;
        for (int code = 0; code < METRICS_CODES; code++)
            n += m->requests[i][code];
        if (n == 0) continue;
        metrics_put1(out, "wishd_method_seconds_total", "method",
                     metrics_method_label(i),
                     metrics_secs(v, sizeof(v), m->method_ns[i]));
    }
    metrics_put_head(out, "wishd_request_duration_seconds", "histogram",
                     "Time from reading a request to queueing its answer, "
                     "by family: password (argon2 in a worker) or general.");
    for (int f = 0; f < METRICS_FAMILIES; f++)
        metrics_put_hist(out, "wishd_request_duration_seconds", "family",
                         metrics_family_names[f], &m->request_latency[f]);
    metrics_put_enum(out, "wishd_rate_limited_total", "counter",
                     "Requests answered RATE_LIMITED, by the bucket that "
                     "refused them.",
                     "scope", metrics_rl_names, m->rate_limited,
                     METRICS_RL_SCOPES);
}

/* The successful calls of one method (code OK), by name. */
static uint64_t metrics_ok(const wish_metrics *m, const char *method)
{
    const method_def *d = methods_find(method, strlen(method));
    return d != NULL ? m->requests[methods_index(d)][PROTO_OK] : 0;
}

static void metrics_render_matching(const wish_metrics *m, struct evbuffer *out)
{
    /* Only what wishd sees: the answers of the methods that assign, the
     * sweeps' counts. Offers made and withdrawn stay inside the library
     * (metrics.h). A retried request_id answered from memory counts
     * again. */
    static const char *const assigners[] = {"task.claim", "task.assign",
                                            "offer.accept"};
    uint64_t assigned[3];
    for (size_t i = 0; i < 3; i++)
        assigned[i] = metrics_ok(m, assigners[i]);
    metrics_put_enum(out, "wishd_assignments_total", "counter",
                     "Volunteers put on tasks by successful calls, by "
                     "method.",
                     "method", assigners, assigned, 3);
    static const char *const outcomes[] = {"accepted", "declined", "lapsed"};
    uint64_t offers[3] = {metrics_ok(m, "offer.accept"),
                          metrics_ok(m, "offer.decline"),
                          m->sweep[METRICS_SWEEP_LAPSED]};
    metrics_put_enum(out, "wishd_offers_total", "counter",
                     "Offers ended, by outcome, as this wishd saw them "
                     "(made and withdrawn are counted in Redis only).",
                     "outcome", outcomes, offers, 3);
    metrics_put_enum(out, "wishd_sweep_items_total", "counter",
                     "Items the sweeps of this wishd handled, by kind.", "kind",
                     metrics_sweep_names, m->sweep, METRICS_SWEEPS);
    metrics_put_enum(out, "wishd_events_pushed_total", "counter",
                     "Events queued to clients: live as published, or "
                     "replayed from the inbox.",
                     "source", metrics_ev_names, m->events, METRICS_EV_SOURCES);
}

static void metrics_render_redis(const wish_server *srv, struct evbuffer *out)
{
    const wish_metrics *m = &srv->metrics;
    char v[24];
    metrics_put_head(out, "wishd_redis_roundtrip_seconds", "histogram",
                     "Time from sending a Redis command to its reply.");
    metrics_put_hist(out, "wishd_redis_roundtrip_seconds", NULL, NULL,
                     &m->redis_rtt);
    metrics_put_enum(out, "wishd_redis_calls_total", "counter",
                     "Redis commands by what became of them.", "result",
                     metrics_redis_names, m->redis_calls,
                     METRICS_REDIS_RESULTS);
    metrics_put_enum(out, "wishd_redis_cluster_writes_total", "counter",
                     "Writes on a Redis Cluster by whether a replica had "
                     "them before they were answered (redis-cluster-wait).",
                     "replica", metrics_replica_names, m->redis_replica,
                     METRICS_REPLICA_RESULTS);
    metrics_put_enum(out, "wishd_redis_reconnects_total", "counter",
                     "Times a Redis link was ready again after a loss.", "link",
                     metrics_link_names, m->redis_reconnects, METRICS_LINKS);
    uint64_t up[METRICS_LINKS] = {srv->store != NULL && store_ready(srv->store),
                                  srv->store != NULL &&
                                      store_subscribed(srv->store)};
    metrics_put_enum(out, "wishd_redis_link_up", "gauge",
                     "1 when the Redis link is ready, else 0.", "link",
                     metrics_link_names, up, METRICS_LINKS);
    metrics_put_head(out, "wishd_redis_pending_calls", "gauge",
                     "Redis commands in flight.");
    metrics_put1(
        out, "wishd_redis_pending_calls", NULL, NULL,
        metrics_u64(v, sizeof(v), srv->store ? store_pending(srv->store) : 0));
}

void metrics_render(const wish_server *srv, struct evbuffer *out)
{
    const wish_metrics *m = &srv->metrics;
    metrics_render_process(m, out);
    metrics_render_conns(srv, out);
    metrics_render_requests(m, out);
    metrics_render_matching(m, out);
    metrics_render_redis(srv, out);
}

/* ------------------------------------------------------------------------
 * metrics-allow (the list itself: metrics_base.c)
 * --------------------------------------------------------------------- */

bool metrics_allowed(const wish_server *srv, const struct sockaddr *sa)
{
    return metrics_allow_match(&srv->metrics.allow, sa);
}
