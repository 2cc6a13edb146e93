/* test_notify.c -- events a user's apps did not get live are POSTed to
 * the city's gateway (issue 15; docs/protocol.md, "Notifications to
 * closed apps").
 *
 * The gateway is a small HTTP receiver on loopback in this process (one
 * thread, one connection at a time) that keeps every request it gets and
 * answers as the test says: 200 (up), 200 after a pause longer than
 * wishd's notify-timeout (slow), or not at all: its listening socket is
 * closed, so connections are refused (down), and opened again on the
 * same port (back). The test checks what came: each body and header,
 * the signature against the key, when each came, and how often.
 *
 * Scenarios: an offer to a volunteer whose app is closed is POSTed at
 * once, another event after notify-delay, and nothing its open app got
 * live; a user who opted out gets nothing; a slow gateway is tried again
 * and delivered to once; a gateway that is down is tried with backoff
 * until it is back, then delivered to once; two wishd processes on one
 * Redis POST each event once between them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define KEY "notify-test-key-0123456789abcdef" /* notify-secret-file */
#define RX_MAX 256                             /* requests kept */
#define RX_HEAD_MAX 16384

/* ------------------------------------------------------------------------
 * The receiver
 * --------------------------------------------------------------------- */

enum rx_mode { RX_UP, RX_SLOW };

typedef struct rx_req {
    char xid[256], ts[32], sig[128], attempt[16], ctype[64];
    char *body;
    size_t len;
    int64_t at_ms; /* wall clock, when the request was read */
    int status;    /* what was answered: 200, or 0 when wishd had gone */
} rx_req;

typedef struct receiver {
    int port;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    atomic_bool stop;
    atomic_bool want_up; /* the listener should be open */
    atomic_bool is_up;   /* it is */
    atomic_int mode;
    atomic_int pause_ms; /* RX_SLOW: before the answer; RX_UP: a delay */
    rx_req reqs[RX_MAX];
    size_t n;
} receiver;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rx_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The value of header `name` in head (NUL-terminated) into out[size]. */
static void rx_header(const char *head, const char *name, char *out,
                      size_t size)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) != 0 || p[2 + n] != ':') continue;
        const char *v = p + 3 + n;
        while (*v == ' ') v++;
        size_t len = strcspn(v, "\r\n");
        if (len >= size) len = size - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return;
    }
}

/* Sleeps ms unless the receiver is stopping. */
static void rx_pause(receiver *rx, int ms)
{
    for (int64_t end = wall_ms() + ms; wall_ms() < end && !rx->stop;)
        usleep(10000);
}

/* Reads one request from fd, keeps it and answers it. */
static void rx_serve(receiver *rx, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char *buf = malloc(RX_HEAD_MAX + 65536 + 1);
    size_t got = 0, need = 0;
    char *end = NULL;
    while (buf != NULL && got < RX_HEAD_MAX + 65536) {
        ssize_t k = recv(fd, buf + got, RX_HEAD_MAX + 65536 - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
        buf[got] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            char cl[32];
            *end = '\0';
            rx_header(buf, "Content-Length", cl, sizeof(cl));
            need = (size_t)(end + 4 - buf) + (size_t)atol(cl);
        }
        if (end != NULL && got >= need) break;
    }
    if (buf == NULL || end == NULL || got < need) {
        free(buf);
        return;
    }
    rx_req r = {.at_ms = wall_ms()};
    rx_header(buf, "X-Microwish-Id", r.xid, sizeof(r.xid));
    rx_header(buf, "X-Microwish-Timestamp", r.ts, sizeof(r.ts));
    rx_header(buf, "X-Microwish-Signature", r.sig, sizeof(r.sig));
    rx_header(buf, "X-Microwish-Attempt", r.attempt, sizeof(r.attempt));
    rx_header(buf, "Content-Type", r.ctype, sizeof(r.ctype));
    r.len = need - (size_t)(end + 4 - buf);
    r.body = malloc(r.len + 1);
    memcpy(r.body, end + 4, r.len);
    r.body[r.len] = '\0';
    free(buf);

    int mode = rx->mode;
    rx_pause(rx, rx->pause_ms);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\nok";
    /* A slow answer finds wishd gone: it gave up, so it is no delivery. */
    ssize_t sent = send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
    r.status = mode == RX_UP && sent > 0 ? 200 : 0;
    pthread_mutex_lock(&rx->mu);
    if (rx->n < RX_MAX) rx->reqs[rx->n++] = r;
    else free(r.body);
    pthread_mutex_unlock(&rx->mu);
}

static void *rx_main(void *arg)
{
    receiver *rx = arg;
    int lfd = -1;
    while (!rx->stop) {
        if (rx->want_up && lfd < 0) lfd = rx_listen(rx->port);
        if (!rx->want_up && lfd >= 0) {
            close(lfd);
            lfd = -1;
        }
        rx->is_up = lfd >= 0;
        if (lfd < 0) {
            usleep(10000);
            continue;
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0) continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        rx_serve(rx, fd);
        close(fd);
    }
    if (lfd >= 0) close(lfd);
    return NULL;
}

/* Opens (up) or closes (down) the listener; waits until it is so. */
static void rx_set_up(receiver *rx, bool up)
{
    rx->want_up = up;
    int64_t deadline = wall_ms() + 2000;
    while (rx->is_up != up) {
        if (wall_ms() > deadline) fail_msg("receiver: cannot go %s",
                                           up ? "up" : "down");
        usleep(5000);
    }
}

static void rx_stop(void *arg)
{
    receiver *rx = arg;
    if (rx->started) {
        rx->stop = true;
        pthread_join(rx->thread, NULL);
        rx->started = false;
    }
    for (size_t i = 0; i < rx->n; i++) free(rx->reqs[i].body);
    pthread_mutex_destroy(&rx->mu);
    free(rx);
}

/* A receiver on a free loopback port, up. */
static receiver *rx_start(void)
{
    receiver *rx = calloc(1, sizeof(*rx));
    assert_non_null(rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->port = th_free_port();
    rx->want_up = true;
    assert_int_equal(pthread_create(&rx->thread, NULL, rx_main, rx), 0);
    rx->started = true;
    rx_set_up(rx, true);
    return rx;
}

/* Requests whose X-Microwish-Id is xid (NULL: any) and, unless
 * status < 0, that were answered `status`. */
static size_t rx_count(receiver *rx, const char *xid, int status)
{
    size_t n = 0;
    pthread_mutex_lock(&rx->mu);
    for (size_t i = 0; i < rx->n; i++)
        if ((xid == NULL || strcmp(rx->reqs[i].xid, xid) == 0) &&
            (status < 0 || rx->reqs[i].status == status))
            n++;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

/* A POST body parsed: JSON through libwishclient's reader. */
typedef struct rx_doc {
    msgpack_sbuffer sb;
    msgpack_unpacked u; /* its strings point into sb */
} rx_doc;

/* Parses the body of r into *d; returns its map. Free with rx_doc_free. */
static const msgpack_object *rx_json(const rx_req *r, rx_doc *d)
{
    msgpack_packer pk;
    char err[128];
    msgpack_sbuffer_init(&d->sb);
    msgpack_packer_init(&pk, &d->sb, msgpack_sbuffer_write);
    if (wc_json_pack(&pk, r->body, r->len, err, sizeof(err)) != 0)
        fail_msg("POST body is not JSON (%s): %s", err, r->body);
    msgpack_unpacked_init(&d->u);
    assert_int_equal(msgpack_unpack_next(&d->u, d->sb.data, d->sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    return &d->u.data;
}

static void rx_doc_free(rx_doc *d)
{
    msgpack_unpacked_destroy(&d->u);
    msgpack_sbuffer_destroy(&d->sb);
}

/* Waits up to ms for a request whose body has user and type (and, with
 * path non-NULL, the string value at path), answered `status` (< 0: any);
 * copies it into *out (its body stays the receiver's). Returns false
 * when none came. */
static bool rx_wait(receiver *rx, const char *user, const char *type,
                    int status, int ms, rx_req *out)
{
    char want[128];
    snprintf(want, sizeof(want), "\"user\":\"%s\"", user);
    char want_type[64];
    snprintf(want_type, sizeof(want_type), "\"type\":\"%s\"", type);
    for (int64_t deadline = wall_ms() + ms;;) {
        bool found = false;
        pthread_mutex_lock(&rx->mu);
        for (size_t i = 0; i < rx->n && !found; i++) {
            rx_req *r = &rx->reqs[i];
            if (strstr(r->body, want) && strstr(r->body, want_type) &&
                (status < 0 || r->status == status)) {
                *out = *r;
                found = true;
            }
        }
        pthread_mutex_unlock(&rx->mu);
        if (found) return true;
        if (wall_ms() > deadline) return false;
        usleep(10000);
    }
}

/* ------------------------------------------------------------------------
 * Checks of one POST
 * --------------------------------------------------------------------- */

/* Asserts r is signed with KEY: sha256=hex(HMAC(KEY, ts "." body)). */
static void assert_signed(const rx_req *r)
{
    size_t tlen = strlen(r->ts);
    unsigned char *msg = malloc(tlen + 1 + r->len), mac[32];
    unsigned int maclen = 0;
    char hex[80] = "sha256=";
    memcpy(msg, r->ts, tlen);
    msg[tlen] = '.';
    memcpy(msg + tlen + 1, r->body, r->len);
    HMAC(EVP_sha256(), KEY, (int)strlen(KEY), msg, tlen + 1 + r->len, mac,
         &maclen);
    free(msg);
    for (unsigned i = 0; i < maclen; i++)
        snprintf(hex + 7 + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(r->sig, hex);
    int64_t ts = atoll(r->ts);
    assert_true(llabs(ts - wall_ms() / 1000) < 60);
}

/* Asserts the body of r is {id, city, user, type, at, event} for user
 * and type, with X-Microwish-Id city:user:id, and copies the id. */
static void assert_post(const rx_req *r, const char *user, const char *type,
                        char *id)
{
    rx_doc d;
    const msgpack_object *o = rx_json(r, &d);
    char xid[256];
    assert_string_equal(r->ctype, "application/json");
    fl_assert_str(o, "city", FL_CITY);
    fl_assert_str(o, "user", user);
    fl_assert_str(o, "type", type);
    fl_assert_str(o, "event.type", type);
    assert_int_equal(th_obj_str(th_obj_path(o, "id"), id, FL_ID_MAX), 0);
    fl_assert_str(o, "event.id", id);
    assert_int_equal(fl_int(o, "at"), fl_int(o, "event.at"));
    snprintf(xid, sizeof(xid), "%s:%s:%s", FL_CITY, user, id);
    assert_string_equal(r->xid, xid);
    assert_signed(r);
    rx_doc_free(&d);
}

/* ------------------------------------------------------------------------
 * The world
 * --------------------------------------------------------------------- */

/* A world whose wishd POSTs to rx, with the flags given (NULL-ended)
 * after the notify ones. */
static fl_world *nt_world(void **state, receiver *rx, ...)
{
    static char url[64], keyfile[512];
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    w->env = th_start();
    assert_non_null(w->env);
    assert_int_equal(th_defer(w->env, rx_stop, rx), 0);
    assert_int_equal(th_redis_start(w->env), 0);
    assert_int_equal(th_write_file(w->env, "notify.key", KEY "\n", 0600), 0);
    assert_int_equal(th_path(w->env, "notify.key", keyfile, sizeof(keyfile)),
                     0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook?city=jinan",
             rx->port);
    size_t n = 0;
    const char *fixed[] = {"--notify-webhook", url, "--notify-secret-file",
                           keyfile, "--notify-poll", "100",
                           "--sweep-interval", "100"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        w->extra[n++] = fixed[i];
    va_list ap;
    va_start(ap, rx);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n + 1 < sizeof(w->extra) / sizeof(w->extra[0]));
        w->extra[n++] = arg;
    }
    va_end(ap);
    w->extra[n] = NULL;
    fl_world_add_wishd(w);
    return w;
}

/* A volunteer of FL_DISTRICT with a profile, whose app then closes. */
static void away_volunteer(fl_world *w, const char *user)
{
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.001);
    fl_close(fl_volunteer(w, 0, user, &p));
}

/* ------------------------------------------------------------------------
 * Scenarios
 * --------------------------------------------------------------------- */

/* The gateway is up: the offer to a volunteer whose app is closed is
 * POSTed at once, signed, once. Back online, the volunteer accepts: the
 * resident, whose app is closed, has "assigned" POSTed notify-delay (2 s)
 * after it happened, and the volunteer's own "assigned", pushed live,
 * is never POSTed. */
static void test_up_offer_at_once_others_after_delay(void **state)
{
    receiver *rx = rx_start();
    fl_world *w = nt_world(state, rx, "--notify-delay", "2",
                           "--notify-offer-delay", "0", NULL);
    away_volunteer(w, "li-lei");
    fl_client *res = fl_resident(w, 0, "wang-fang");
    char task_id[FL_ID_MAX], id[FL_ID_MAX], offer_id[FL_ID_MAX];
    fl_task t = fl_task_make(3600, 7200);
    int64_t posted_ms = wall_ms();
    fl_submit(res, &t, "open", task_id);
    fl_close(res);

    rx_req r;
    assert_true(rx_wait(rx, "li-lei", "offer", 200, 3000, &r));
    assert_post(&r, "li-lei", "offer", id);
    assert_string_equal(r.attempt, "1");
    assert_true(r.at_ms - posted_ms < 1500); /* at once: a poll or two */
    {
        rx_doc d;
        const msgpack_object *o = rx_json(&r, &d);
        fl_assert_str(o, "event.task.task_id", task_id);
        assert_int_equal(th_obj_str(th_obj_path(o, "event.offer_id"),
                                    offer_id, sizeof(offer_id)),
                         0);
        rx_doc_free(&d);
    }

    /* Back online: the stored offer is replayed, and accepted. */
    fl_client *v = fl_login(w, 0, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_expect_offer(v, task_id, NULL);
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", offer_id, NULL),
                     0);
    const msgpack_object *mine = fl_expect(v, "assigned", NULL, NULL);
    int64_t at = fl_int(mine, "at");

    rx_req a;
    assert_true(rx_wait(rx, "wang-fang", "assigned", 200, 5000, &a));
    assert_post(&a, "wang-fang", "assigned", id);
    assert_true(a.at_ms >= (at + 2) * 1000);      /* not before the delay */
    assert_true(a.at_ms <= (at + 2) * 1000 + 1500); /* nor long after */

    /* A second past the delay: the live "assigned" was never POSTed,
     * and every POST came once. */
    th_sleep_ms(1000);
    rx_req none;
    assert_false(rx_wait(rx, "li-lei", "assigned", -1, 0, &none));
    assert_int_equal(rx_count(rx, NULL, -1), 2);
}

/* notify.set {webhook: false}: me says so, and the user's offer is not
 * POSTed, while another volunteer's, offered the same task, is. */
static void test_opt_out(void **state)
{
    receiver *rx = rx_start();
    fl_world *w = nt_world(state, rx, "--notify-delay", "0",
                           "--notify-offer-delay", "0", "--offer-fanout",
                           "2", NULL);
    fl_vol p = fl_vol_make("Quiet", FL_LON, FL_LAT + 0.001);
    fl_client *q = fl_volunteer(w, 0, "quiet", &p);
    proto_msg msg;
    assert_int_equal(fl_call(q, "me", NULL, &msg), 0);
    assert_true(fl_bool(msg.result, "webhook"));
    fl_fields fs = {0};
    fl_put_bool(&fs, "webhook", false);
    assert_int_equal(fl_call(q, "notify.set", &fs, &msg), 0);
    assert_false(fl_bool(msg.result, "webhook"));
    assert_int_equal(fl_call(q, "me", NULL, &msg), 0);
    assert_false(fl_bool(msg.result, "webhook"));
    fl_put_str(&fs, "webhook", "no");
    assert_int_equal(fl_call(q, "notify.set", &fs, NULL),
                     PROTO_BAD_REQUEST);
    fl_close(q);
    away_volunteer(w, "loud");

    fl_client *co = fl_coordinator(w, 0);
    char task_id[FL_ID_MAX], id[FL_ID_MAX];
    fl_task t = fl_task_make(3600, 7200);
    fl_post(co, &t, task_id);
    rx_req r;
    assert_true(rx_wait(rx, "loud", "offer", 200, 3000, &r));
    assert_post(&r, "loud", "offer", id);
    th_sleep_ms(500);
    assert_false(rx_wait(rx, "quiet", "offer", -1, 0, &r));
}

/* A gateway slower than notify-timeout: the POST counts as failed and is
 * tried again (attempt 2, a second later); once the gateway is quick
 * again it is delivered, once, and not tried any more. */
static void test_slow_gateway_retried_delivered_once(void **state)
{
    receiver *rx = rx_start();
    rx->mode = RX_SLOW;
    rx->pause_ms = 800;
    fl_world *w = nt_world(state, rx, "--notify-offer-delay", "0",
                           "--notify-timeout", "300", NULL);
    away_volunteer(w, "li-lei");
    fl_client *co = fl_coordinator(w, 0);
    char task_id[FL_ID_MAX], id[FL_ID_MAX];
    fl_task t = fl_task_make(3600, 7200);
    fl_post(co, &t, task_id);

    rx_req first;
    assert_true(rx_wait(rx, "li-lei", "offer", -1, 3000, &first));
    assert_string_equal(first.attempt, "1");
    assert_int_equal(first.status, 0);
    rx->mode = RX_UP;
    rx->pause_ms = 0;
    rx_req r;
    assert_true(rx_wait(rx, "li-lei", "offer", 200, 5000, &r));
    assert_post(&r, "li-lei", "offer", id);
    assert_true(atoi(r.attempt) >= 2);
    assert_string_equal(r.xid, first.xid); /* the receiver's dedup key */
    th_sleep_ms(2500); /* past the next backoff step */
    assert_int_equal(rx_count(rx, r.xid, 200), 1);
    assert_int_equal(rx_count(rx, r.xid, -1), (size_t)atoi(r.attempt));
}

/* A gateway that is down (connections refused): wishd tries with backoff
 * (1 s, 2 s, ...) and says so in its log; when the gateway is back the
 * event is delivered exactly once. */
static void test_down_then_back(void **state)
{
    receiver *rx = rx_start();
    rx_set_up(rx, false);
    fl_world *w = nt_world(state, rx, "--notify-offer-delay", "0", NULL);
    away_volunteer(w, "li-lei");
    fl_client *co = fl_coordinator(w, 0);
    char task_id[FL_ID_MAX], id[FL_ID_MAX];
    fl_task t = fl_task_make(3600, 7200);
    fl_post(co, &t, task_id);

    /* Tries at about 0, 1 and 3 s are refused. */
    th_sleep_ms(2500);
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]),
                                 "no connection to the gateway"));
    rx_set_up(rx, true);
    rx_req r;
    assert_true(rx_wait(rx, "li-lei", "offer", 200, 8000, &r));
    assert_post(&r, "li-lei", "offer", id);
    assert_true(atoi(r.attempt) >= 3);
    th_sleep_ms(1500);
    assert_int_equal(rx_count(rx, NULL, -1), 1);
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]),
                                 "the gateway takes POSTs again"));
}

/* Two wishd processes on one Redis, two POSTs out at once each, a
 * gateway that takes 30 ms a request: 24 offers to 12 volunteers whose
 * apps are closed are each POSTed exactly once, by both daemons between
 * them. */
static void test_two_daemons_each_event_once(void **state)
{
    enum { VOLS = 12, TASKS = 2 };
    receiver *rx = rx_start();
    rx->pause_ms = 30;
    fl_world *w = nt_world(state, rx, "--notify-offer-delay", "0",
                           "--notify-max-inflight", "2", "--offer-fanout",
                           "12", "--log-level", "debug", NULL);
    fl_world_add_wishd(w);
    char users[VOLS][16];
    for (int i = 0; i < VOLS; i++) {
        snprintf(users[i], sizeof(users[i]), "vol-%02d", i);
        away_volunteer(w, users[i]);
    }
    fl_client *co = fl_coordinator(w, 1);
    for (int k = 0; k < TASKS; k++) {
        char task_id[FL_ID_MAX];
        fl_task t = fl_task_make(3600 + k * 60, 7200 + k * 60);
        fl_post(co, &t, task_id);
    }
    int64_t deadline = wall_ms() + 10000;
    while (rx_count(rx, NULL, 200) < VOLS * TASKS && wall_ms() < deadline)
        th_sleep_ms(50);
    th_sleep_ms(1000); /* nothing more may come */
    assert_int_equal(rx_count(rx, NULL, -1), VOLS * TASKS);
    pthread_mutex_lock(&rx->mu);
    size_t n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rx_count(rx, rx->reqs[i].xid, -1), 1);
        assert_signed(&rx->reqs[i]);
    }
    for (int i = 0; i < 2; i++)
        assert_true(th_file_contains(th_wishd_log(w->wishd[i]),
                                     "notify: city jinan: delivered"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_up_offer_at_once_others_after_delay,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_opt_out, fl_teardown),
        cmocka_unit_test_teardown(test_slow_gateway_retried_delivered_once,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_down_then_back, fl_teardown),
        cmocka_unit_test_teardown(test_two_daemons_each_event_once,
                                  fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
