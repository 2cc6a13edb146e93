/* test_wishd_config.c -- wishd's settings: defaults, file, flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"

/* Writes text to a fresh temp file; returns its path (static buffer). */
static const char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/wishd-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int parse(wish_config *cfg, char *why, size_t size, int argc,
                 const char **argv)
{
    config_defaults(cfg);
    return config_parse_args(cfg, argc, (char **)argv, why, size);
}

static void test_defaults_match_protocol(void **state)
{
    wish_config cfg;
    config_defaults(&cfg);
    assert_int_equal(cfg.port, 7400);
    assert_int_equal(cfg.max_frame, 64 * 1024);
    assert_int_equal(cfg.max_depth, 16);
    assert_int_equal(cfg.max_elements, 1024);
    assert_int_equal(cfg.max_string, 8 * 1024);
    assert_int_equal(cfg.idle_timeout, 300);
    assert_int_equal(cfg.output_buffer, 1024 * 1024);
    assert_string_equal(cfg.redis, "127.0.0.1:6379");
    assert_string_equal(cfg.log_level, "info");
}

static void test_set_checks_type_and_range(void **state)
{
    wish_config cfg;
    char why[256];
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "port", "7401", why, sizeof(why)), 0);
    assert_int_equal(cfg.port, 7401);
    assert_int_equal(config_set(&cfg, "port", "0", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "out of range"));
    assert_int_equal(config_set(&cfg, "port", "12ab", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a number"));
    assert_int_equal(config_set(&cfg, "nope", "1", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "unknown setting 'nope'"));
    assert_int_equal(
        config_set(&cfg, "output-buffer", "2mb", why, sizeof(why)), 0);
    assert_int_equal(cfg.output_buffer, 2 * 1024 * 1024);
    assert_int_equal(config_set(&cfg, "max-frame", "1k", why, sizeof(why)),
                     0);
    assert_int_equal(cfg.max_frame, 1024);
    assert_int_equal(config_set(&cfg, "log-level", "loud", why, sizeof(why)),
                     -1);
    assert_int_equal(cfg.port, 7401); /* failures changed nothing */
}

/* Issue 13: the city's settings. */
static void test_city_settings(void **state)
{
    wish_config cfg;
    config_city_box b[CONFIG_CITIES_MAX];
    char why[256];

    config_defaults(&cfg);
    assert_int_equal(cfg.offer_ttl, 600);
    assert_int_equal(cfg.start_grace, 300);
    assert_int_equal(cfg.tz_offset, 480);
    /* Jinan's box by default, and the centre of the old town inside. */
    assert_int_equal(config_city_bounds(cfg.city_bounds, b, CONFIG_CITIES_MAX,
                                        why, sizeof(why)),
                     1);
    assert_string_equal(b[0].city, "jinan");
    assert_true(b[0].min_lon < 117.0612 && 117.0612 < b[0].max_lon);
    assert_true(b[0].min_lat < 36.6719 && 36.6719 < b[0].max_lat);
    /* Laiwu and Zhangqiu (merged into Jinan) and Shanghe in the north. */
    assert_true(b[0].max_lon > 117.9 && b[0].min_lat < 36.0);
    assert_true(b[0].max_lat > 37.5);

    assert_int_equal(config_set(&cfg, "city-bounds",
                                "jinan:116.1,35.9,118.1,37.6\t "
                                "yantai:119.5,36.5,122.0,38.5",
                                why, sizeof(why)),
                     0);
    assert_int_equal(config_city_bounds(cfg.city_bounds, b, CONFIG_CITIES_MAX,
                                        why, sizeof(why)),
                     2);
    assert_string_equal(b[1].city, "yantai");
    assert_true(b[1].max_lat == 38.5);
    assert_int_equal(config_set(&cfg, "city-bounds", "none", why, sizeof(why)),
                     0);
    assert_int_equal(config_city_bounds(cfg.city_bounds, b, CONFIG_CITIES_MAX,
                                        why, sizeof(why)),
                     0);
    assert_int_equal(config_set(&cfg, "city-bounds", "jinan:1,2,3,4", why,
                                sizeof(why)),
                     0);

    static const struct {
        const char *value, *why;
    } bad[] = {
        {"116.1,35.9,118.1,37.6", "expected CITY:"},
        {"Jinan:116.1,35.9,118.1,37.6", "expected CITY:"},
        {":116.1,35.9,118.1,37.6", "expected CITY:"},
        {"jinan:116.1,35.9,118.1", "four numbers"},
        {"jinan:116.1,35.9,118.1,37.6,1", "four numbers"},
        {"jinan:116.1,35.9,118.1,x", "four numbers"},
        {"jinan:118.1,35.9,116.1,37.6", "each min below its max"},
        {"jinan:116.1,35.9,118.1,86", "latitudes in -85..85"},
        {"jinan:1,1,2,2 jinan:3,3,4,4", "city 'jinan' twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_set(&cfg, "city-bounds", bad[i].value, why, sizeof(why)) ==
            0)
            fail_msg("city-bounds '%s' accepted", bad[i].value);
        if (!strstr(why, bad[i].why) || !strstr(why, "city-bounds"))
            fail_msg("city-bounds '%s': '%s' lacks '%s'", bad[i].value, why,
                     bad[i].why);
    }
    assert_string_equal(cfg.city_bounds, "jinan:1,2,3,4"); /* unchanged */
    assert_int_equal(
        config_set(&cfg, "start-grace", "86401", why, sizeof(why)), -1);
    assert_int_equal(config_set(&cfg, "start-grace", "0", why, sizeof(why)),
                     0);
}

static void test_file_then_flags_win(void **state)
{
    const char *path = write_temp("# a comment\n\n"
                                  "port 7500\n"
                                  "  log-level   debug  \n"
                                  "redis-socket \"/tmp/a b.sock\"\n");
    wish_config cfg;
    char why[256];
    const char *argv[] = {"wishd", "--port", "7600", "--config", path};
    assert_int_equal(parse(&cfg, why, sizeof(why), 5, argv), 0);
    assert_int_equal(cfg.port, 7600); /* flag wins though it comes first */
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.redis_socket, "/tmp/a b.sock");
    unlink(path);
}

static void test_file_error_names_the_line(void **state)
{
    const char *path = write_temp("port 7500\nmax-clients lots\n");
    wish_config cfg;
    char why[256];
    const char *argv[] = {"wishd", "--config", path};
    assert_int_equal(parse(&cfg, why, sizeof(why), 3, argv), -1);
    assert_non_null(strstr(why, ":2: max-clients"));
    unlink(path);
}

/* A '#' that starts the value or follows white space starts a comment,
 * so "port 7500  # the demo port" is port 7500; a '#' inside a word or
 * inside "quotes" is part of the value (passwords, paths). */
static void test_file_trailing_comments(void **state)
{
    const char *path = write_temp("port 7500  # the demo port\n"
                                  "log-level debug\t# chatty\n"
                                  "redis-password pa#ss # not the '#' in it\n"
                                  "redis-user \"ops #1\"   # quoted\n"
                                  "redis-socket \"/tmp/a b.sock\"\n");
    wish_config cfg;
    char why[256];
    const char *argv[] = {"wishd", "--config", path};
    assert_int_equal(parse(&cfg, why, sizeof(why), 3, argv), 0);
    assert_int_equal(cfg.port, 7500);
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.redis_password, "pa#ss");
    assert_string_equal(cfg.redis_user, "ops #1");
    assert_string_equal(cfg.redis_socket, "/tmp/a b.sock");
    unlink(path);

    /* Text after a closing quote that is not a comment, and a quote never
     * closed, are errors naming the line rather than guesses. */
    static const char *const bad[] = {"redis-user \"a\" b\n",
                                      "redis-user \"ab\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        path = write_temp(bad[i]);
        assert_int_equal(parse(&cfg, why, sizeof(why), 3, argv), -1);
        assert_non_null(strstr(why, ":1: redis-user"));
        unlink(path);
    }
}

static void test_bad_flags(void **state)
{
    wish_config cfg;
    char why[256];
    const char *unknown[] = {"wishd", "--bogus", "1"};
    assert_int_equal(parse(&cfg, why, sizeof(why), 3, unknown), -1);
    assert_non_null(strstr(why, "--bogus"));
    const char *missing[] = {"wishd", "--port"};
    assert_int_equal(parse(&cfg, why, sizeof(why), 2, missing), -1);
    const char *stray[] = {"wishd", "extra"};
    assert_int_equal(parse(&cfg, why, sizeof(why), 2, stray), -1);
    const char *range[] = {"wishd", "--max-depth", "1000"};
    assert_int_equal(parse(&cfg, why, sizeof(why), 3, range), -1);
    assert_non_null(strstr(why, "max-depth"));
}

static void test_validate(void **state)
{
    wish_config cfg;
    char why[256];
    config_defaults(&cfg);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "secret-file"));
    assert_int_equal(config_set(&cfg, "secret-file", "/x", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), 0);
    assert_int_equal(config_set(&cfg, "redis", "nohost", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);

    char host[64];
    int port;
    assert_int_equal(config_set(&cfg, "redis", "::1:6380", why, 256), 0);
    assert_int_equal(config_redis_addr(&cfg, host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 6380);
}

/* redis-cluster: seeds checked by seeds_parse(), and no second answer to
 * where Redis is (redis set to anything but its default, redis-socket). */
static void test_redis_cluster(void **state)
{
    wish_config cfg;
    char why[256];
    const char *ok[] = {"wishd", "--secret-file", "/x", "--redis-cluster",
                        "127.0.0.1:7000,[::1]:7001"};
    assert_int_equal(parse(&cfg, why, sizeof(why), 5, ok), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), 0);
    assert_string_equal(cfg.redis_cluster, "127.0.0.1:7000,[::1]:7001");

    const char *bad[] = {"h", "h:0", "a:1,a:1", "a:1,", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(config_set(&cfg, "redis-cluster", bad[i], why, 256),
                         0);
        int rc = config_validate(&cfg, why, sizeof(why));
        if (bad[i][0] == '\0') {
            assert_int_equal(rc, 0); /* "": one Redis, the default */
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(why, "redis-cluster"));
        }
    }

    assert_int_equal(config_set(&cfg, "redis-cluster", "a:1", why, 256), 0);
    assert_int_equal(config_set(&cfg, "redis", "10.0.0.1:6379", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "excludes"));
    assert_int_equal(config_set(&cfg, "redis", "127.0.0.1:6379", why, 256), 0);
    assert_int_equal(config_set(&cfg, "redis-socket", "/r.sock", why, 256),
                     0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "excludes"));
}

/* The hardening settings: defaults as docs/operations.md gives them, and
 * a TLS port needs its files and a port of its own. */
static void test_hardening_settings(void **state)
{
    wish_config cfg;
    char why[256];
    config_defaults(&cfg);
    assert_int_equal(cfg.frame_timeout, 10);
    assert_int_equal(cfg.rate_user, 50);
    assert_int_equal(cfg.rate_user_burst, 200);
    assert_int_equal(cfg.rate_addr, 1000);
    assert_int_equal(cfg.rate_addr_burst, 5000);
    assert_int_equal(cfg.tls_port, 0);
    assert_int_equal(config_set(&cfg, "rate-user", "0", why, 256), 0);
    assert_int_equal(config_set(&cfg, "rate-user-burst", "0", why, 256), -1);
    assert_int_equal(config_set(&cfg, "frame-timeout", "0", why, 256), -1);
    assert_int_equal(config_set(&cfg, "secret-file", "/x", why, 256), 0);
    assert_int_equal(config_set(&cfg, "tls-port", "7443", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "tls-cert-file"));
    assert_int_equal(config_set(&cfg, "tls-cert-file", "/c", why, 256), 0);
    assert_int_equal(config_set(&cfg, "tls-key-file", "/k", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), 0);
    assert_int_equal(config_set(&cfg, "tls-port", "7400", why, 256), 0);
    assert_int_equal(config_validate(&cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "must differ"));
}

/* tile-origin: one bare origin or nothing; anything that could widen
 * or end the pages' img-src directive is refused with the reason. */
static void test_tile_origin(void **state)
{
    wish_config cfg;
    char why[256];
    config_defaults(&cfg);
    assert_string_equal(cfg.tile_origin, "");
    static const char *const good[] = {
        "https://tiles.example.org", "http://127.0.0.1:8080",
        "https://a-b.example:443",   "http://[::1]:9000",
        "",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(
            config_set(&cfg, "tile-origin", good[i], why, sizeof(why)), 0);
        assert_string_equal(cfg.tile_origin, good[i]);
    }
    static const char *const bad[] = {
        "https://*.example.org", "https://a.org/",    "https://a.org/x",
        "a.org",                 "ftp://a.org",       "https://",
        "https://a.org:0",       "https://a.org:65536", "https://a.org:",
        "https://a.org;x",       "https://a.org 'self'", "'self'",
        "https://a.org,https://b.org", "https://-a.org", "https://[zz]",
        "https://a.org\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_set(&cfg, "tile-origin", bad[i], why, sizeof(why)) != -1)
            fail_msg("tile-origin '%s' accepted", bad[i]);
        assert_non_null(strstr(why, "tile-origin: '"));
        assert_non_null(strstr(why, "is not an origin"));
    }
    assert_string_equal(cfg.tile_origin, ""); /* the last good one */
}

static void test_help_lists_every_flag(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_usage(f, "wishd");
    fclose(f);
    const char *flags[] = {"--port", "--bind", "--redis ", "--redis-socket",
                           "--secret-file", "--log-level", "--max-clients",
                           "--idle-timeout", "--output-buffer", "--config"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        assert_non_null(strstr(text, flags[i]));
    assert_non_null(strstr(text, "default: 7400"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_protocol),
        cmocka_unit_test(test_set_checks_type_and_range),
        cmocka_unit_test(test_city_settings),
        cmocka_unit_test(test_file_then_flags_win),
        cmocka_unit_test(test_file_error_names_the_line),
        cmocka_unit_test(test_file_trailing_comments),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_hardening_settings),
        cmocka_unit_test(test_tile_origin),
        cmocka_unit_test(test_redis_cluster),
        cmocka_unit_test(test_help_lists_every_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
