/* wishbench.h -- the load generator's shared pieces (clients/wishbench*.c).
 *
 * wishbench has two parts:
 *   wishbench.c       options, the city model, the direct Redis caller
 *                     (seeding and the ceiling), reports
 *   wishbench_net.c   pipelined MessagePack-RPC connections to wishd,
 *                     open- or closed-loop; the latency histogram, time
 *                     and random numbers
 *
 * The wishd side speaks MessagePack-RPC itself (proto/ builders and
 * reader) rather than through libwishclient: the blocking client has one
 * call in flight, and the pipelined asynchronous one had not landed when
 * this was written.
 *
 * Nothing here is thread-safe: wishbench runs one thread.
 */
#ifndef MICROWISH_WISHBENCH_H
#define MICROWISH_WISHBENCH_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* ------------------------------------------------------------------------
 * Latency histogram: 64 sub-buckets per power of two of microseconds
 * (about 1.5 % resolution) up to 2^34 us.
 * --------------------------------------------------------------------- */

#define WB_HIST_SUB 64
#define WB_HIST_BUCKETS (35 * WB_HIST_SUB)

typedef struct wb_hist {
    uint64_t count[WB_HIST_BUCKETS];
    uint64_t n;
    uint64_t max_us;
    double sum_us;
} wb_hist;

void wb_hist_add(wb_hist *h, uint64_t us);

/* The value (us) below which a fraction q (0..1) of the samples lie. */
double wb_hist_quantile(const wb_hist *h, double q);

/* ------------------------------------------------------------------------
 * Time and randomness
 * --------------------------------------------------------------------- */

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t wb_now_us(void);

/* xorshift64*: deterministic per seed. */
uint64_t wb_rand(uint64_t *s);
double wb_rand01(uint64_t *s);

/* ------------------------------------------------------------------------
 * The city model (wishbench.c)
 * --------------------------------------------------------------------- */

/* A task as wishbench posts it; packs as task.post params. */
typedef struct wb_task {
    const char *skill;
    double lon, lat;
    int64_t start, end;
    char region[96];
} wb_task;

/* Draws a task: place from the population's density, skill by demand,
 * time inside the volunteers' usual hours in the next days. */
void wb_task_draw(uint64_t *rng, int64_t now, wb_task *t);

/* Packs the params map of task.post for t. */
void wb_task_pack(msgpack_packer *pk, const wb_task *t, uint64_t n);

/* ------------------------------------------------------------------------
 * wishd load (wishbench_net.c)
 * --------------------------------------------------------------------- */

typedef struct wb_net_opts {
    const char *host;
    int port;
    const char *token; /* coordinator token for hello */
    int connections;
    int pipeline;   /* requests in flight per connection at most */
    double rate;    /* open loop: requests per second; 0: closed loop */
    double seconds; /* how long to send */
    uint64_t seed;
    int progress;   /* print a progress line every second to stderr */
    uint64_t max_requests; /* 0: no limit */
} wb_net_opts;

typedef struct wb_net_result {
    uint64_t sent, ok, errors, late; /* late: open loop could not send */
    uint64_t first_error_code;
    char first_error[160];
    double elapsed_s; /* first send to last answer */
    wb_hist lat;      /* request to response */
} wb_net_result;

/* Posts tasks to wishd over opts->connections pipelined connections
 * (each says hello with opts->token first). Returns 0, or -1 with a
 * reason on stderr when no connection could be made. */
int wb_net_post(const wb_net_opts *opts, wb_net_result *res);

#endif
