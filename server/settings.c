/* settings.c -- the settings map every library function reads; see
 * settings.h. */
#include "server/settings.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto/proto.h"

static void settings_pack_int(msgpack_packer *pk, const char *k, int64_t v)
{
    proto_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

int settings_pack(const wish_config *cfg, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);

    const struct {
        const char *name;
        int64_t value;
    } ints[] = {
        {"offer_ttl", cfg->offer_ttl},
        {"offer_fanout", cfg->offer_fanout},
        {"offer_keep", 86400}, /* how long a closed offer is remembered */
        {"sweep_batch", cfg->sweep_batch},
        {"sweep_rematch_batch", cfg->sweep_rematch_batch},
        {"rematch_interval", cfg->rematch_interval},
        {"task_keep", cfg->task_keep},
        {"archive_max", cfg->archive_max},
        {"team_hold_release", cfg->team_hold_release},
        {"tz_offset", cfg->tz_offset},
        {"max_span", cfg->max_span},
        {"max_horizon", cfg->max_horizon},
        {"start_grace", cfg->start_grace},
        {"max_open_wishes", cfg->max_open_wishes},
        {"max_open_posts", cfg->max_open_posts},
        {"inbox_max", cfg->inbox_max},
        {"inbox_ttl", cfg->inbox_ttl},
        {"watch_ttl", cfg->watch_ttl},
        {"match_k", cfg->match_k},
        {"match_rounds", cfg->match_rounds},
        {"match_max_examined", cfg->match_max_examined},
        {"match_min_radius", cfg->match_min_radius},
        {"match_first_radius", cfg->match_first_radius},
        {"match_max_radius", cfg->match_max_radius},
        {"nearby_max_radius", cfg->nearby_max_radius},
        {"nearby_max_examined", cfg->nearby_max_examined},
        {"request_ttl", cfg->request_ttl},
        {"rank_fairness_m", cfg->rank_fairness_m},
        {"rank_rating_m", cfg->rank_rating_m},
        {"rank_default_rating", 4}, /* stars assumed before any rating */
        {"checkin_radius", cfg->checkin_radius},
        {"hours_per_point", cfg->hours_per_point},
        {"login_ttl", cfg->login_ttl},
        {"invite_ttl", cfg->invite_ttl},
        {"login_free_fails", cfg->login_free_fails},
        {"login_addr_free_fails", cfg->login_addr_free_fails},
        {"login_lock_base", cfg->login_lock_base},
        {"login_lock_max", cfg->login_lock_max},
        /* emit() queues events for the gateway only when it is on */
        {"notify_on", cfg->notify_webhook[0] != '\0'},
        {"notify_delay", cfg->notify_delay},
        {"notify_offer_delay", cfg->notify_offer_delay},
        {"notify_retry_max", cfg->notify_retry_max},
        {"notify_queue_max", cfg->notify_queue_max},
    };
    size_t nints = sizeof(ints) / sizeof(ints[0]);
    /* cluster = 1 only on a Redis Cluster: the library then announces
     * events with SPUBLISH on tagged channels (docs/cluster.md); one
     * Redis's settings stay the bytes they were. */
    bool cluster = cfg->redis_cluster[0] != '\0';
    msgpack_pack_map(&pk, (uint32_t)nints + 2 + cluster);
    for (size_t i = 0; i < nints; i++)
        settings_pack_int(&pk, ints[i].name, ints[i].value);
    if (cluster) settings_pack_int(&pk, "cluster", 1);

    /* review_regions: an array of scopes. */
    char scopes[CONFIG_STR_MAX];
    const char *list[64];
    uint32_t n = 0;
    snprintf(scopes, sizeof(scopes), "%s", cfg->review_regions);
    for (char *save, *r = strtok_r(scopes, ",", &save); r != NULL && n < 64;
         r = strtok_r(NULL, ",", &save))
        list[n++] = r;
    proto_pack_cstr(&pk, "review_regions");
    msgpack_pack_array(&pk, n);
    for (uint32_t i = 0; i < n; i++) proto_pack_cstr(&pk, list[i]);

    /* city_bounds: {city = {min_lon, min_lat, max_lon, max_lat}}; the
     * text was checked when it was set, so it parses. */
    config_city_box boxes[CONFIG_CITIES_MAX];
    char why[160];
    int nb = config_city_bounds(cfg->city_bounds, boxes, CONFIG_CITIES_MAX,
                                why, sizeof(why));
    if (nb < 0) nb = 0;
    proto_pack_cstr(&pk, "city_bounds");
    msgpack_pack_map(&pk, (uint32_t)nb);
    for (int i = 0; i < nb; i++) {
        proto_pack_cstr(&pk, boxes[i].city);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_double(&pk, boxes[i].min_lon);
        msgpack_pack_double(&pk, boxes[i].min_lat);
        msgpack_pack_double(&pk, boxes[i].max_lon);
        msgpack_pack_double(&pk, boxes[i].max_lat);
    }
    return sb->data != NULL ? 0 : -1;
}
