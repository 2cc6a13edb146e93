/* config.h -- wishd's configuration: defaults, config file, flags.
 *
 * Every setting has one name, used both as the config-file key
 * (redis.conf style: `key value` a line, `#` comments) and as the long
 * flag (`--key value`); flags win over the file. The table in config.c is
 * the single source: defaults, ranges, help text and `--help` all come
 * from it.
 */
#ifndef WISHD_CONFIG_H
#define WISHD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define WISHD_VERSION "0.1.0"

#define CONFIG_STR_MAX 256
#define CONFIG_REDIS_DEFAULT "127.0.0.1:6379" /* the redis setting's */
#define CONFIG_CITIES_MAX 16 /* cities city-bounds may name */
#define CONFIG_CITY_MAX 33   /* a city name and its NUL */

typedef struct wish_config {
    /* listener */
    char bind[CONFIG_STR_MAX];
    int64_t port;
    int64_t max_clients;
    int64_t idle_timeout;    /* seconds */
    int64_t output_buffer;   /* bytes queued to one client before a drop */
    int64_t max_inflight;    /* requests per connection before reads pause */
    int64_t frame_timeout;   /* seconds a started message may take */
    int64_t max_conns_per_addr;    /* connections of one address; 0 off */
    int64_t max_unauthed_per_addr; /* of those, before hello; 0 off */
    int64_t authed_reserve;  /* percent of max-clients kept from
                                connections that have not said hello */
    int64_t hello_timeout;   /* seconds a connection may take to hello */
    int64_t hello_replay_max; /* stored events one hello (or ack) pushes */
    char metrics_allow[CONFIG_STR_MAX]; /* who may GET /metrics (metrics.h) */
    /* TLS listener (off while tls_port is 0) */
    int64_t tls_port;
    char tls_cert_file[CONFIG_STR_MAX];
    char tls_key_file[CONFIG_STR_MAX];
    /* rate limits: requests a second and bucket size; rate 0 is off */
    int64_t rate_user;
    int64_t rate_user_burst;
    int64_t rate_addr;
    int64_t rate_addr_burst;
    int64_t rate_hello;      /* hellos a minute per user; 0 is off */
    int64_t rate_hello_burst;
    int64_t rate_table_max;  /* buckets kept per table */
    /* protocol limits */
    int64_t max_frame;
    int64_t max_depth;
    int64_t max_elements;
    int64_t max_string;
    /* identity */
    char secret_file[CONFIG_STR_MAX];
    int64_t token_skew;      /* seconds of clock skew allowed at issue */
    int64_t heartbeat;       /* seconds, told to clients in hello */
    /* the HTTP port (http.h) */
    int64_t http_port;       /* 0: off */
    char http_bind[CONFIG_STR_MAX];
    int64_t http_tls;        /* 1: TLS with tls-cert-file and tls-key-file */
    char web_root[CONFIG_STR_MAX];        /* the apps' built files */
    char allowed_origins[CONFIG_STR_MAX]; /* comma-separated; "*": any */
    char tile_origin[CONFIG_STR_MAX]; /* img-src of the pages; "": none */
    /* accounts (docs/protocol.md, "Accounts") */
    int64_t login_ttl;       /* seconds an account's token lasts */
    int64_t invite_ttl;      /* default seconds an invite or reset code lasts */
    int64_t kdf_memory;      /* argon2id KiB per hash */
    int64_t kdf_time;        /* argon2id passes */
    int64_t kdf_threads;     /* worker threads checking passwords */
    int64_t kdf_queue_max;   /* password checks waiting for a worker */
    int64_t login_free_fails;      /* failures of one name before locks */
    int64_t login_addr_free_fails; /* of one address */
    int64_t login_lock_base; /* seconds of the first lock */
    int64_t login_lock_max;  /* seconds of the longest */
    int64_t account_poll;    /* ms between reads of the account changes */
    char public_url[CONFIG_STR_MAX]; /* the start of invite links */
    /* service certificates (certificate.h) */
    char cert_font[CONFIG_STR_MAX];   /* "": fontconfig's Chinese face */
    char cert_issuer[CONFIG_STR_MAX]; /* NAME, or CITY=NAME;... */
    /* Redis */
    char redis[CONFIG_STR_MAX]; /* HOST:PORT */
    char redis_socket[CONFIG_STR_MAX];
    char redis_cluster[CONFIG_STR_MAX]; /* seeds "HOST:PORT,..."; "": none */
    char redis_user[CONFIG_STR_MAX];
    char redis_password[CONFIG_STR_MAX];
    int64_t redis_timeout;      /* ms before a request fails UNAVAILABLE */
    int64_t redis_max_pending;  /* requests in flight to Redis */
    int64_t redis_backoff_min;  /* ms, first reconnect delay */
    int64_t redis_backoff_max;  /* ms, longest reconnect delay */
    int64_t redis_cluster_wait; /* ms a write waits for a replica; 0: no */
    char redis_cluster_unreplicated[CONFIG_STR_MAX]; /* answer | fail */
    /* matching and events (passed to the Redis functions) */
    int64_t offer_ttl;          /* seconds an offer holds */
    int64_t offer_fanout;       /* offers out at once per free place */
    char review_regions[CONFIG_STR_MAX]; /* comma-separated scopes */
    int64_t sweep_interval;     /* ms between lease and expiry sweeps */
    int64_t sweep_batch;        /* items per sweep part */
    int64_t sweep_rematch_batch; /* unmatched retries per sweep step */
    int64_t rematch_interval;   /* seconds before an unmatched task retries */
    int64_t task_keep;          /* seconds a closed task stays whole */
    int64_t archive_max;        /* unacknowledged exports held at most */
    int64_t team_hold_release;  /* seconds before a task's start a team
                                   order's unfilled places go back */
    int64_t tz_offset;          /* the city's minutes east of UTC */
    int64_t max_span;           /* longest task, seconds */
    int64_t max_horizon;        /* seconds ahead a task may start */
    int64_t start_grace;        /* seconds in the past a task may start */
    char city_bounds[CONFIG_STR_MAX]; /* "city:box ...", config_city_bounds */
    int64_t max_open_wishes;    /* a resident's open wishes and orders */
    int64_t max_open_posts;     /* a coordinator's open posts */
    int64_t inbox_max;          /* events kept per user */
    int64_t inbox_ttl;          /* seconds an idle inbox is kept */
    int64_t watch_ttl;          /* seconds a queue watch stays marked in
                                   Redis after its last refresh */
    /* notifications to closed apps (notify.h); off while the URL is "" */
    char notify_webhook[CONFIG_STR_MAX];     /* http:// or https:// URL */
    char notify_secret_file[CONFIG_STR_MAX]; /* the HMAC key */
    int64_t notify_delay;       /* seconds before an event is due */
    int64_t notify_offer_delay; /* seconds before an offer is due */
    int64_t notify_poll;        /* ms between claims */
    int64_t notify_batch;       /* events one claim takes at most */
    int64_t notify_max_inflight; /* POSTs out at once per wishd */
    int64_t notify_timeout;     /* ms one POST may take */
    int64_t notify_retry_max;   /* tries before an event is dropped */
    int64_t notify_queue_max;   /* entries queued per city */
    int64_t match_k;            /* candidates the first search aims at */
    int64_t match_rounds;       /* searches per match at most */
    int64_t match_max_examined; /* candidates examined per match at most */
    int64_t match_min_radius;   /* metres */
    int64_t match_first_radius; /* metres, where no density is known */
    int64_t match_max_radius;   /* metres */
    int64_t nearby_max_radius;  /* metres, widest task.nearby search */
    int64_t nearby_max_examined; /* tasks one task.nearby reads at most */
    int64_t request_ttl;        /* seconds a request_id is remembered */
    int64_t rank_fairness_m;    /* metres one recent assignment weighs */
    int64_t rank_rating_m;      /* metres one missing star weighs */
    int64_t checkin_radius;     /* metres */
    int64_t hours_per_point;
    /* process */
    char log_level[16];
    char log_file[CONFIG_STR_MAX];
    char pidfile[CONFIG_STR_MAX];
    int64_t shutdown_timeout;   /* seconds to drain on SIGTERM */
} wish_config;

/* One city's bounding box, from the setting city-bounds. */
typedef struct config_city_box {
    char city[CONFIG_CITY_MAX]; /* the first part of its regions */
    double min_lon, min_lat, max_lon, max_lat;
} config_city_box;

/* Parses a city-bounds value: blank-separated CITY:MIN_LON,MIN_LAT,
 * MAX_LON,MAX_LAT (decimal degrees, a min below its max, latitudes in
 * -85..85 as Redis GEO takes them), each city once, CITY 1..32 of
 * [a-z0-9_-]; "" or "none" for no bounds. Writes up to max boxes to out
 * (out may be NULL to only check). Returns how many, or -1 with a
 * reason in why[why_size]. */
int config_city_bounds(const char *text, config_city_box *out, size_t max,
                       char *why, size_t why_size);

/* Checks a tile-origin value: "" (none) or one origin,
 * http[s]://HOST[:PORT], HOST a DNS name or an IPv4 address (letters,
 * digits, '.', '-') or an IPv6 one in brackets, PORT 1..65535; no path,
 * wildcard, quote, semicolon, comma or space, since it is written into
 * the pages' Content-Security-Policy as it is. Returns 0, or -1 with a
 * reason in why[why_size]. */
int config_check_origin(const char *text, char *why, size_t why_size);

/* Fills *cfg with every default. */
void config_defaults(wish_config *cfg);

/* Sets one setting by name from text. Returns 0, or -1 with a reason in
 * why[why_size] (unknown key, not a number, out of range, too long). */
int config_set(wish_config *cfg, const char *key, const char *value,
               char *why, size_t why_size);

/* Reads a config file into *cfg. Returns 0, or -1 with
 * "FILE:LINE: reason" in why[why_size]. */
int config_load_file(wish_config *cfg, const char *path, char *why,
                     size_t why_size);

/* Parses argv: --config FILE is read first, then every other flag in
 * order. Returns 0 to go on, 1 when --help or --version was printed (exit
 * 0), -1 with a reason in why[] (exit 2). */
int config_parse_args(wish_config *cfg, int argc, char **argv, char *why,
                      size_t why_size);

/* Checks settings that depend on each other (a secret file is required,
 * the Redis address parses). Returns 0 or -1 with a reason in why[]. */
int config_validate(const wish_config *cfg, char *why, size_t why_size);

/* Splits cfg->redis into host[host_size] and *port. Returns 0 or -1. */
int config_redis_addr(const wish_config *cfg, char *host, size_t host_size,
                      int *port);

/* Prints usage with every flag and its default to `out` (a FILE *). */
void config_usage(void *out, const char *prog);

#endif
