/* test_metrics.c -- server/metrics.c: the Prometheus text that
 * metrics_render() writes after synthetic increments (exact lines of a
 * counter, a labelled counter, a histogram's cumulative buckets, +Inf,
 * _sum and _count; label escaping), the same text checked by `promtool
 * check metrics` when promtool is installed, and the metrics-allow list:
 * IPv4 and IPv6 CIDRs matched, bad entries refused when the setting is
 * set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "server/config.h"
#include "server/conn.h"
#include "server/methods.h"
#include "server/metrics.h"
#include "server/server.h"

/* server.h: conn.c calls it when a connection goes while stopping (main.c
 * defines it in wishd); these tests free no connection. */
void server_conn_gone(wish_server *srv)
{
    (void)srv;
}

static wish_server test_srv; /* large: not on the stack */

/* A fresh server with no store and no connections, its metrics started
 * with the metrics-allow value `allow`. */
static wish_server *fresh_server(const char *allow)
{
    char why[160];
    memset(&test_srv, 0, sizeof(test_srv));
    assert_int_equal(metrics_init(&test_srv.metrics, allow, why, sizeof(why)),
                     0);
    return &test_srv;
}

/* Renders srv into a NUL-terminated string (the caller frees it). */
static char *render(const wish_server *srv)
{
    struct evbuffer *out = evbuffer_new();
    assert_non_null(out);
    metrics_render(srv, out);
    size_t len = evbuffer_get_length(out);
    char *text = malloc(len + 1);
    assert_non_null(text);
    evbuffer_remove(out, text, len);
    text[len] = '\0';
    evbuffer_free(out);
    return text;
}

/* Fails unless `line` is a whole line of text. */
static void assert_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return;
    fail_msg("line not rendered: %s\n--- rendered:\n%s", line, text);
}

static void assert_no_line_starting(const char *text, const char *start)
{
    size_t n = strlen(start);
    for (const char *p = text; (p = strstr(p, start)) != NULL; p++)
        if (p == text || p[-1] == '\n')
            fail_msg("unexpected line starting %s", start);
    (void)n;
}

static unsigned method_index(const char *name)
{
    const method_def *m = methods_find(name, strlen(name));
    assert_non_null(m);
    return (unsigned)methods_index(m);
}

/* ------------------------------------------------------------------------
 * Rendering
 * --------------------------------------------------------------------- */

static void test_counter_lines(void **state)
{
    wish_server *srv = fresh_server("");
    metrics_drop(&srv->metrics, METRICS_DROP_IDLE);
    metrics_drop(&srv->metrics, METRICS_DROP_IDLE);
    metrics_drop(&srv->metrics, METRICS_DROP_PER_ADDR);
    char *text = render(srv);
    assert_line(text, "# HELP wishd_clients_dropped_total Clients closed or "
                      "refused by a limit, by reason.");
    assert_line(text, "# TYPE wishd_clients_dropped_total counter");
    assert_line(text, "wishd_clients_dropped_total{reason=\"idle\"} 2");
    assert_line(text, "wishd_clients_dropped_total{reason=\"per_addr\"} 1");
    /* A fixed label set is written whole, zeros included. */
    assert_line(text,
                "wishd_clients_dropped_total{reason=\"token_expired\"} 0");
    assert_line(text, "wishd_build_info{version=\"" WISHD_VERSION "\"} 1");
    assert_line(text, "wishd_redis_pending_calls 0");
    assert_line(text, "wishd_redis_link_up{link=\"command\"} 0");
    free(text);
}

static void test_requests_by_method_and_code(void **state)
{
    wish_server *srv = fresh_server("");
    wish_metrics *m = &srv->metrics;
    for (int i = 0; i < 3; i++)
        metrics_request_done(m, method_index("ping"), PROTO_OK, 1000);
    metrics_request_done(m, method_index("task.claim"), PROTO_CONFLICT,
                         2000000);
    metrics_request_done(m, method_index("task.claim"), PROTO_OK, 3000000);
    metrics_request_done(m, METRICS_METHOD_UNKNOWN, PROTO_NO_METHOD, 500);
    metrics_request_done(m, method_index("auth.login"), PROTO_OK, 40000000);
    metrics_request_done(m, method_index("me"), 99, 10); /* not a code */
    char *text = render(srv);
    assert_line(text, "# TYPE wishd_requests_total counter");
    assert_line(text, "wishd_requests_total{method=\"ping\",code=\"OK\"} 3");
    assert_line(text,
                "wishd_requests_total{method=\"task.claim\",code=\"CONFLICT\"}"
                " 1");
    assert_line(text,
                "wishd_requests_total{method=\"unknown\",code=\"NO_METHOD\"}"
                " 1");
    assert_line(text,
                "wishd_requests_total{method=\"me\",code=\"INTERNAL\"} 1");
    /* Series appear once non-zero. */
    assert_no_line_starting(text, "wishd_requests_total{method=\"board\"");
    assert_line(text, "wishd_method_seconds_total{method=\"task.claim\"} "
                      "0.005000000");
    /* The families: auth.login hashes a password, ping does not. */
    assert_line(text, "wishd_request_duration_seconds_count{family="
                      "\"password\"} 1");
    assert_line(text, "wishd_request_duration_seconds_count{family="
                      "\"general\"} 7");
    assert_line(text, "wishd_request_duration_seconds_bucket{family="
                      "\"password\",le=\"0.025\"} 0");
    assert_line(text, "wishd_request_duration_seconds_bucket{family="
                      "\"password\",le=\"0.05\"} 1");
    /* What wishd derives of matching from method results and sweeps. */
    metrics_sweep(m, METRICS_SWEEP_LAPSED, 5);
    metrics_request_done(m, method_index("offer.accept"), PROTO_OK, 1);
    free(text);
    text = render(srv);
    assert_line(text, "wishd_assignments_total{method=\"task.claim\"} 1");
    assert_line(text, "wishd_assignments_total{method=\"offer.accept\"} 1");
    assert_line(text, "wishd_offers_total{outcome=\"accepted\"} 1");
    assert_line(text, "wishd_offers_total{outcome=\"declined\"} 0");
    assert_line(text, "wishd_offers_total{outcome=\"lapsed\"} 5");
    assert_line(text, "wishd_sweep_items_total{kind=\"lapsed\"} 5");
    free(text);
}

static void test_histogram_cumulative(void **state)
{
    wish_server *srv = fresh_server("");
    wish_metrics *m = &srv->metrics;
    metrics_redis_reply(m, 40000);      /* 40 us */
    metrics_redis_reply(m, 50000);      /* on the first bound: le holds it */
    metrics_redis_reply(m, 300000);     /* 300 us */
    metrics_redis_reply(m, 7000000000); /* 7 s: past every bound */
    char *text = render(srv);
    assert_line(text, "# TYPE wishd_redis_roundtrip_seconds histogram");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"5e-05\"} 2");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"0.0001\"} 2");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"0.00025\"} 2");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"0.0005\"} 3");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"5\"} 3");
    assert_line(text, "wishd_redis_roundtrip_seconds_bucket{le=\"+Inf\"} 4");
    assert_line(text, "wishd_redis_roundtrip_seconds_sum 7.000390000");
    assert_line(text, "wishd_redis_roundtrip_seconds_count 4");
    /* The +Inf bucket comes last, after every finite one. */
    const char *five = strstr(text, "_bucket{le=\"5\"}");
    const char *inf = strstr(text, "_bucket{le=\"+Inf\"}");
    assert_true(five != NULL && inf != NULL && five < inf);
    free(text);
}

static void test_connections_by_transport(void **state)
{
    wish_server *srv = fresh_server("");
    static conn c[3];
    static char ws_session_stand_in; /* only its being there counts */
    memset(c, 0, sizeof(c));
    c[0].state = CONN_READY;
    c[0].tls = true;
    c[1].state = CONN_AWAIT_HELLO;
    c[1].tls = true;
    c[1].ws = (struct ws_session *)&ws_session_stand_in;
    c[2].state = CONN_DEAD; /* closed, not yet freed: not open */
    c[0].next = &c[1];
    c[1].next = &c[2];
    srv->conns = &c[0];
    srv->nunauthed = 1;
    metrics_conn_accepted(&srv->metrics, CONN_TRANSPORT_TCP);
    metrics_conn_accepted(&srv->metrics, CONN_TRANSPORT_TLS);
    char *text = render(srv);
    srv->conns = NULL;
    assert_line(text, "# TYPE wishd_connections gauge");
    assert_line(text, "wishd_connections{transport=\"tcp\"} 0");
    assert_line(text, "wishd_connections{transport=\"tls\"} 1");
    assert_line(text, "wishd_connections{transport=\"ws\"} 0");
    assert_line(text, "wishd_connections{transport=\"wss\"} 1");
    assert_line(text, "wishd_connections_unauthed 1");
    assert_line(text, "wishd_connections_accepted_total{transport=\"tcp\"} 1");
    free(text);
}

static void test_label_escaping(void **state)
{
    struct evbuffer *out = evbuffer_new();
    metrics_put_label_value(out, "a\"b\\c\nd");
    metrics_put_label_value(out, "|plain|");
    metrics_put_label_value(out, "");
    char buf[64] = {0};
    evbuffer_remove(out, buf, sizeof(buf) - 1);
    assert_string_equal(buf, "a\\\"b\\\\c\\nd|plain|");
    evbuffer_free(out);
}

/* Every family has HELP then TYPE before its samples, and each sample's
 * name belongs to the family above it. */
static void test_every_family_typed(void **state)
{
    wish_server *srv = fresh_server("");
    char *text = render(srv);
    char family[128] = "";
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            sscanf(line + 7, "%127s", family);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128];
            sscanf(line + 7, "%127s", name);
            assert_string_equal(name, family);
            continue;
        }
        assert_int_equal(strncmp(line, family, strlen(family)), 0);
    }
    free(text);
}

/* The text of a busy server passes `promtool check metrics` (parse and
 * lint) when promtool is installed: scripts/deps installs it, so in CI it
 * always is. */
static void test_promtool_accepts(void **state)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "(promtool not installed: check skipped)\n");
        skip();
    }
    wish_server *srv = fresh_server("");
    wish_metrics *m = &srv->metrics;
    for (size_t i = 0; i < methods_count(); i++)
        metrics_request_done(m, (unsigned)i, (int)(i % METRICS_CODES),
                             (uint64_t)i * 777777);
    metrics_request_done(m, METRICS_METHOD_UNKNOWN, PROTO_NO_METHOD, 1);
    metrics_redis_reply(m, 123456);
    metrics_redis_call(m, METRICS_REDIS_TIMEOUT);
    metrics_event(m, METRICS_EV_REPLAY);
    metrics_rate_limited(m, METRICS_RL_HELLO);
    char *text = render(srv);
    char path[] = "/tmp/wishd-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    if (rc != 0) fail_msg("promtool rejected the text:\n%s", text);
    free(text);
}

/* ------------------------------------------------------------------------
 * metrics-allow
 * --------------------------------------------------------------------- */

static const struct sockaddr *v4(const char *addr)
{
    static struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    return (const struct sockaddr *)&sin;
}

static const struct sockaddr *v6(const char *addr)
{
    static struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
    return (const struct sockaddr *)&sin6;
}

static void test_allow_cidrs(void **state)
{
    wish_server *srv = fresh_server(
        " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,::1, 172.16.5.9/12");
    assert_int_equal(srv->metrics.allow.n, 5);
    assert_true(metrics_allowed(srv, v4("10.1.2.3")));
    assert_true(metrics_allowed(srv, v4("10.255.255.255")));
    assert_false(metrics_allowed(srv, v4("11.0.0.1")));
    assert_true(metrics_allowed(srv, v4("192.168.1.7")));
    assert_false(metrics_allowed(srv, v4("192.168.1.8")));
    /* Host bits past the prefix are cleared: 172.16.0.0/12. */
    assert_true(metrics_allowed(srv, v4("172.31.0.1")));
    assert_false(metrics_allowed(srv, v4("172.32.0.1")));
    assert_true(metrics_allowed(srv, v6("2001:db8:1::5")));
    assert_false(metrics_allowed(srv, v6("2001:db9::1")));
    assert_true(metrics_allowed(srv, v6("::1")));
    assert_false(metrics_allowed(srv, v6("::2")));
    /* A dual-stack listener sees IPv4 peers mapped. */
    assert_true(metrics_allowed(srv, v6("::ffff:10.9.9.9")));
    assert_false(metrics_allowed(srv, v6("::ffff:11.9.9.9")));
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_false(metrics_allowed(srv, &unix_sa));

    /* An IPv4 range written mapped is an IPv4 range. */
    srv = fresh_server("::ffff:10.0.0.0/104");
    assert_true(metrics_allowed(srv, v4("10.2.3.4")));
    assert_false(metrics_allowed(srv, v4("11.2.3.4")));
    srv = fresh_server("0.0.0.0/0");
    assert_true(metrics_allowed(srv, v4("8.8.8.8")));
    assert_false(metrics_allowed(srv, v6("2001:db8::1")));
}

static void test_allow_empty_is_everyone(void **state)
{
    wish_server *srv = fresh_server("");
    assert_int_equal(srv->metrics.allow.n, 0);
    assert_true(metrics_allowed(srv, v4("203.0.113.9")));
    assert_true(metrics_allowed(srv, v6("2001:db8::9")));
    srv = fresh_server("   ");
    assert_true(metrics_allowed(srv, v4("203.0.113.9")));
}

static void test_allow_bad_entries_refused_at_config(void **state)
{
    static const char *const bad[] = {
        "10.0.0.0/33",
        "::1/129",
        "300.1.1.1",
        "10.0.0.0/",
        "10.0.0.0/8,,1.2.3.4",
        "1.2.3.4,",
        "abc",
        "1.2.3.4/-1",
        "1.2.3.4/8x",
        "10.0.0.0/8 1.2.3.4",
        "localhost",
        "1.2.3.4/0008",
    };
    wish_config cfg;
    char why[256];
    config_defaults(&cfg);
    assert_string_equal(cfg.metrics_allow, "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_set(&cfg, "metrics-allow", bad[i], why, sizeof(why)) != -1)
            fail_msg("metrics-allow '%s' was accepted", bad[i]);
        assert_non_null(strstr(why, "metrics-allow"));
        assert_int_equal(metrics_allow_parse(bad[i], NULL, why, sizeof(why)),
                         -1);
    }
    assert_string_equal(cfg.metrics_allow, "");
    assert_int_equal(config_set(&cfg, "metrics-allow",
                                "127.0.0.1, 10.0.0.0/8, fd00::/8", why,
                                sizeof(why)),
                     0);
    assert_string_equal(cfg.metrics_allow, "127.0.0.1, 10.0.0.0/8, fd00::/8");
    /* More entries than the list holds. */
    char many[1024];
    size_t off = 0;
    for (int i = 0; i <= METRICS_ALLOW_MAX; i++)
        off += (size_t)snprintf(many + off, sizeof(many) - off, "%s1.1.1.%d",
                                i ? "," : "", i);
    assert_true(off < sizeof(many));
    assert_int_equal(metrics_allow_parse(many, NULL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "at most"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_lines),
        cmocka_unit_test(test_requests_by_method_and_code),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_connections_by_transport),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_every_family_typed),
        cmocka_unit_test(test_promtool_accepts),
        cmocka_unit_test(test_allow_cidrs),
        cmocka_unit_test(test_allow_empty_is_everyone),
        cmocka_unit_test(test_allow_bad_entries_refused_at_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
