/* wishbench.h -- the load generator's shared pieces (clients/wishbench/).
 *
 * wishbench is seven files:
 *   wishbench.c       options, the city model, every command (seed,
 *                     direct, wishd, memory, quality, check, conns,
 *                     crowd) and the report line or JSON
 *   wishbench_net.c   pipelined MessagePack-RPC connections to wishd,
 *                     open- or closed-loop; the latency histogram, time
 *                     and random numbers; post-to-`assigned` tracking
 *   wishbench_agents.c  volunteer agents on libwishclient's asynchronous
 *                     client (a child process): accept every offer
 *   wishbench_assign.c  the optimal assignment and the Gini coefficient
 *   wishbench_crowd.c   a crowd of connections sending random bytes (a
 *                     child process), and ping latency beside it
 *   wishbench_logins.c  accounts made through invites and sign-ups, then
 *                     log-ins at full speed; the cost of one password
 *                     hash vs one SHA-256
 *   wishbench_ws.c    wb_conn over WebSocket (wishd's /ws): the upgrade,
 *                     wslay in client mode
 *
 * The posting side speaks MessagePack-RPC itself (proto/ builders and
 * reader) to keep many requests in flight per connection with exact
 * timing; the agents use libwishclient (wc_async_*).
 *
 * Nothing here is thread-safe: each wishbench process runs one thread.
 */
#ifndef MICROWISH_WISHBENCH_H
#define MICROWISH_WISHBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "proto/proto.h"

/* ------------------------------------------------------------------------
 * Latency histogram: 1 us buckets below 64 us, then 64 sub-buckets per
 * power of two (about 1.5 % resolution) up to 2^40 us; longer samples
 * count in the last bucket (max_us keeps the true maximum).
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
    char region[192];
    int district; /* index in the city's districts */
} wb_task;

/* Draws a task of city (its region "city/district/street/community"):
 * place from the population's density (Jinan's districts, whatever the
 * city's name), skill by demand, time inside the volunteers' usual
 * hours in the next days. */
void wb_task_draw(uint64_t *rng, int64_t now, const char *city, wb_task *t);

/* Packs the params map of task.post for t. */
void wb_task_pack(msgpack_packer *pk, const wb_task *t, uint64_t n);

/* ------------------------------------------------------------------------
 * Straight to Redis (wishbench.c): the FCALLs wishd sends
 * --------------------------------------------------------------------- */

/* Replies taken: successes, error replies and the first error's text. */
typedef struct wb_direct_stats {
    uint64_t ok, errors;
    char first_error[160];
} wb_direct_stats;

/* Packs into sb the settings map wishd sends with its defaults, but for
 * max_open_posts (one coordinator posts a whole city's tasks); cluster
 * nonzero adds `cluster = 1`, as a wishd on a Redis Cluster sends
 * (events on sharded Pub/Sub). */
void wb_pack_settings(msgpack_sbuffer *sb, int cluster);

/* Appends (does not send) the FCALL of fn on city at `now`, exactly as
 * wishd sends it (matcher/call.h); caller and params are the two parts
 * of sb split at caller_len. Exits 2 when the city's key is too long. */
void wb_append_fcall(redisContext *rc, const char *fn, const char *city,
                     int64_t now, const msgpack_sbuffer *sb,
                     size_t caller_len, const msgpack_sbuffer *settings);

/* Creates volunteers v0 .. v(volunteers-1) of city through
 * wish_volunteer_update on rc (blocking, pipelined in batches), drawn
 * from seed: the same seed gives every city the same people. Counts the
 * replies into *st. 0, or -1 with the reason on stderr when the
 * connection failed (error replies are counted, not fatal). */
int wb_seed_city(redisContext *rc, const char *city, long volunteers,
                 uint64_t seed, const msgpack_sbuffer *settings,
                 wb_direct_stats *st);

/* A field of INFO (any section) as a number; NAN when absent. */
double wb_redis_info(redisContext *rc, const char *section,
                     const char *field);

/* Seconds of CPU the server used so far, user + system (INFO cpu). */
double wb_redis_cpu(redisContext *rc);

/* ------------------------------------------------------------------------
 * wishd load (wishbench_net.c)
 * --------------------------------------------------------------------- */

/* msgids remembered per connection (by msgid modulo this): more than any
 * pipeline, so that a live msgid never shares a slot with another. */
#define WB_NET_SLOTS 4096

/* One pipelined MessagePack-RPC connection to wishd: a non-blocking TCP
 * socket without Nagle, an output buffer with a packer on it, and a
 * proto_reader for what comes back. The caller packs requests with pk,
 * ends each with wb_conn_end_msg(), notes each in
 * slot_id/slot_due[msgid % WB_NET_SLOTS] and counts inflight, and reads
 * with wb_conn_read(); dead is set once the connection broke. On a
 * WebSocket (ws set: wb_conn_new_ws()) out holds the message being
 * packed, and the same calls frame and unframe it. */
typedef struct wb_conn {
    int fd;
    struct wb_ws *ws; /* NULL on TCP */
    proto_reader *rd;
    msgpack_sbuffer out;
    size_t out_off;
    msgpack_packer pk;
    uint32_t next_id;
    int inflight;
    int dead;
    uint32_t slot_id[WB_NET_SLOTS];
    uint64_t slot_due[WB_NET_SLOTS]; /* the caller's: a time, an index */
    /* Events this session was sent and has not acked yet (wb_net_read
     * acks each read's, as a client does: wishd replays at most
     * hello-replay-max unacked events to a new session, then waits) */
    unsigned ev_unacked;
    char ev_last[24]; /* the latest one's id */
} wb_conn;

/* Connects to host:port. Returns the connection (the caller frees it
 * with wb_conn_free()), or NULL when it cannot connect or allocate. */
wb_conn *wb_conn_new(const char *host, int port);

/* Connects to wishd's HTTP port host:port and upgrades GET /ws to a
 * WebSocket (wishbench_ws.c): the 101 and its Sec-WebSocket-Accept are
 * checked. Returns the connection, or NULL with the reason on stderr
 * when it cannot connect, the upgrade fails or memory runs out. */
wb_conn *wb_conn_new_ws(const char *host, int port);

/* Closes and frees c; NULL is a no-op. */
void wb_conn_free(wb_conn *c);

/* Frees c but its socket, which it returns (the caller closes it): an
 * idle session held at the least cost to wishbench. */
int wb_conn_detach(wb_conn *c);

/* The request just packed with c->pk is whole: on a WebSocket it becomes
 * one binary message; on TCP its bytes are in c->out already. */
void wb_conn_end_msg(wb_conn *c);

/* recv() of the MessagePack-RPC byte stream from wishd (on a WebSocket,
 * the payloads of its messages): bytes read, 0 at the end, or -1 with
 * errno (EAGAIN: nothing yet). */
ssize_t wb_conn_read(wb_conn *c, void *buf, size_t size);

/* Whether c has bytes to write (poll for POLLOUT). */
int wb_conn_want_write(const wb_conn *c);

/* Writes what is buffered, as far as the socket takes it without
 * blocking. 0, or -1 (and c->dead set) when the connection broke. */
int wb_conn_flush(wb_conn *c);

/* Says hello with token on c (nothing else in flight) and waits up to
 * 5 s for the answer. 0, or -1 with the reason on stderr. */
int wb_conn_hello(wb_conn *c, const char *token);

/* The WebSocket halves of the calls above (wishbench_ws.c). */
struct wb_ws;
void wb_ws_free(struct wb_ws *w);
void wb_ws_end_msg(wb_conn *c);
int wb_ws_flush(wb_conn *c);
int wb_ws_want_write(const wb_conn *c);
ssize_t wb_ws_read(wb_conn *c, void *buf, size_t size);

/* Whether a response's error object is [7 UNAVAILABLE, ...]: wishd is
 * busy (a full queue) and the request may be made again. */
int wb_error_unavailable(const msgpack_object *err);

typedef struct wb_net_opts {
    const char *host;
    int port;
    const char *token; /* coordinator token for hello */
    const char *city;  /* the token's city: the tasks' regions */
    int connections;
    int pipeline;   /* requests in flight per connection at most */
    double rate;    /* open loop: requests per second; 0: closed loop */
    double seconds; /* how long to send */
    uint64_t seed;
    int progress;   /* print a progress line every second to stderr */
    uint64_t max_requests; /* 0: no limit */
    int track_assigned;    /* wait for each task's `assigned` event */
    int retry_unavailable; /* a post answered UNAVAILABLE is made again */
    int ws;                /* over WebSocket: port is wishd's HTTP port */
    int ping;              /* send `ping` instead of task.post */
    /* called once every connection has said hello, before the first
     * post (the agents start there: wishd replays inboxes in the order
     * sessions said hello, so the coordinator's come first); nonzero
     * return: give up */
    int (*after_hello)(void *arg);
    void *after_hello_arg;
    double warmup_s;       /* posts due in the first warmup_s seconds are
                              made but their latencies not recorded (the
                              sessions' start-up is not the steady state) */
    double assign_wait_s;  /* after the last answer: how long to wait for
                              the remaining `assigned` events while they
                              still come (stops after 3 s without one) */
} wb_net_opts;

typedef struct wb_net_result {
    uint64_t sent, ok, errors, late; /* late: open loop could not send */
    uint64_t retried; /* UNAVAILABLE answers, made again */
    uint64_t first_error_code;
    char first_error[160];
    double elapsed_s; /* first send to last answer */
    wb_hist lat;      /* request to response */
    /* with track_assigned: */
    uint64_t assigned;   /* tasks of this run whose `assigned` came */
    double assign_s;     /* first send to the last `assigned` */
    wb_hist asg_lat;     /* post (due time) to the `assigned` event */
} wb_net_result;

/* Posts tasks to wishd over opts->connections pipelined connections
 * (each says hello with opts->token first). Returns 0, or -1 with a
 * reason on stderr when no connection could be made. */
int wb_net_post(const wb_net_opts *opts, wb_net_result *res);

/* ------------------------------------------------------------------------
 * Direct matches on a Redis Cluster (wishbench_cluster.c)
 * --------------------------------------------------------------------- */

#define WB_CLUSTER_CITIES_MAX 64
#define WB_CLUSTER_CITY_MAX 64 /* bytes of a city's name */
#define WB_CLUSTER_BLOCKS_MAX 64

typedef struct wb_cluster_opts {
    const char *host; /* any node: asked for the cluster's map */
    int port;
    const char *host_b; /* a second cluster, in turns with the first; */
    int port_b;         /* NULL: one cluster */
    long block;         /* posts a city per turn; 0: all in one */
    const char *cities; /* "jinan,qingdao,...": comma-separated */
    long volunteers;    /* seeded in each city */
    long posts;         /* posted in each city */
    int pipeline;       /* posts in flight per master */
    uint64_t seed;
    int progress;       /* a line a second on stderr */
} wb_cluster_opts;

typedef struct wb_cluster_result {
    int masters;     /* masters serving slots */
    int cities;
    char spread[256]; /* cities per master, in the map's order: "2,2" */
    uint64_t seeded, seed_errors;
    double seed_s;
    double seed_memory; /* used_memory the seeding added, all masters */
    uint64_t ok, errors; /* posts answered, and answered with an error */
    char first_error[160];
    double elapsed_s;       /* first post sent to the last reply */
    double redis_cpu_s;     /* CPU the masters used meanwhile, summed */
    double redis_cpu_max_s; /* the busiest master's */
    double gen_cpu_s;       /* wishbench's own CPU meanwhile */
    double fcalls, fcall_usec; /* FCALLs the masters ran, their usec */
    int misrouted; /* masters whose FCALLs run differ from posts sent */
    double block_rate[WB_CLUSTER_BLOCKS_MAX]; /* matches/s of each turn */
    int nblocks;
} wb_cluster_result;

/* Reads the map of the cluster o->host:o->port belongs to, loads the
 * library on every master, seeds o->volunteers in each city (on the
 * master of its slot), then posts o->posts tasks in each city, all
 * masters at once, `pipeline` in flight on one connection per master.
 * With o->host_b, the cluster there is set up the same way and the two
 * post in turns, o->block posts a city each time (at most
 * WB_CLUSTER_BLOCKS_MAX turns each). Returns 0 with res[0] (and res[1]
 * for host_b) filled; 2 for a bad city list (empty or long names, '{',
 * '}', '/' or blanks in one, one twice, more than
 * WB_CLUSTER_CITIES_MAX); -1 for the rest: a node that is not a
 * cluster's, slots without a master, a master unreachable, seeding
 * refused, a connection lost, no reply for 30 s, too many turns. The
 * reason goes to stderr. Error replies to posts are counted, not
 * fatal. */
int wb_cluster_run(const wb_cluster_opts *o, wb_cluster_result res[2]);

/* ------------------------------------------------------------------------
 * The optimum (wishbench_assign.c)
 * --------------------------------------------------------------------- */

/* Min-cost assignment of every row to one column through the given
 * edges (row erow[k] may take column ecol[k] at cost ecost[k] >= 0),
 * column c taking at most cap[c] rows. Fills out_col[row]; returns the
 * total cost, or -1 when some row cannot be placed or memory ran out. */
int64_t wb_mincost_assign(int nrows, int ncols, const int *cap, int nedges,
                          const int *erow, const int *ecol,
                          const int64_t *ecost, int *out_col);

/* The Gini coefficient of x[0..n-1] (>= 0): 0 even, -> 1 concentrated. */
double wb_gini(const double *x, size_t n);

/* ------------------------------------------------------------------------
 * Volunteer agents (wishbench_agents.c): accept every offer at once
 * --------------------------------------------------------------------- */

typedef struct wb_agents_opts {
    const char *host;
    int port;
    const char *redis_socket; /* or redis_host:redis_port, for Pub/Sub */
    const char *redis_host;
    int redis_port;
    const char *city;
    const unsigned char *secret;
    size_t secret_len;
    long preconnect;   /* v0 .. v(preconnect-1) hold sessions from start */
    long max_sessions; /* sessions opened on demand held at once */
    double max_seconds; /* the child stops by itself after this */
} wb_agents_opts;

typedef struct wb_agents_stats {
    uint64_t offers;    /* offer events acted on */
    uint64_t sent;      /* offer.accept calls made */
    uint64_t accepted;  /* answered with an assignment */
    uint64_t conflicts; /* CONFLICT (filled, expired, clash) */
    uint64_t errors;    /* other failures */
    uint64_t stale;     /* offers expired, or of earlier tasks */
    uint64_t sessions;  /* sessions opened */
    uint64_t session_errors;
    char first_error[160];
} wb_agents_stats;

typedef struct wb_agents_proc {
    int pid;
    int stop_fd, out_fd;
    long ready; /* preconnected sessions that said hello */
} wb_agents_proc;

/* Runs the agents in this process until stop_fd is readable (EOF) or
 * max_seconds pass; writes "R <ready>" on out_fd once the preconnected
 * sessions are up (or after 60 s), "S ..." with the counts at the end. */
int wb_agents_run(const wb_agents_opts *o, int stop_fd, int out_fd);

/* Forks a child running wb_agents_run() and waits for its "R" line.
 * 0, or -1 (the child, if any, is left for wb_agents_stop()). */
int wb_agents_start(const wb_agents_opts *o, wb_agents_proc *p);

/* Stops the child, reads its counts and reaps it (bounded: 15 s, then
 * SIGKILL). 0, or -1 when no counts came. */
int wb_agents_stop(wb_agents_proc *p, wb_agents_stats *st);

/* ------------------------------------------------------------------------
 * A crowd sending random bytes (wishbench_crowd.c)
 * --------------------------------------------------------------------- */

typedef struct wb_crowd_opts {
    const char *host; /* an IPv4 address */
    int port;
    int connections; /* the crowd's connections, held at once */
    int think_ms;    /* mean pause before each one's next chunk */
    double seconds;  /* rounds of measuring (one a second), or how long
                        the crowd runs when pings is 0 */
    int pings;       /* round trips per block; 0: no measuring */
    uint64_t seed;
} wb_crowd_opts;

/* What the crowd process did. */
typedef struct wb_crowd_stats {
    long connects;  /* connections made */
    long failed;    /* connects that failed at once */
    long chunks;    /* chunks of random bytes sent */
    long cut;       /* connections wishd closed */
    long peak_open; /* connections open at once, at most */
} wb_crowd_stats;

typedef struct wb_crowd_result {
    wb_hist quiet, loaded; /* ping round trips without and with the crowd */
    uint64_t pings, ping_errors; /* a ping error ends the measuring */
    int rounds;
    double seconds;
    wb_crowd_stats crowd;
} wb_crowd_result;

/* Runs the crowd against o->host:o->port (see wishbench_crowd.c) and,
 * with o->pings > 0, measures one client's pings quiet and loaded in
 * alternating blocks. Returns 0, or -1 with a reason on stderr when it
 * could not start or the crowd process gave no counts. */
int wb_crowd_run(const wb_crowd_opts *o, wb_crowd_result *res);

/* ------------------------------------------------------------------------
 * Log-ins (wishbench_logins.c)
 * --------------------------------------------------------------------- */

typedef struct wb_logins_opts {
    const char *host; /* wishd */
    int port;
    const char *city;
    const unsigned char *secret; /* wishd's: mints the inviting admin */
    size_t secret_len;
    long accounts;   /* made by invite and sign-up, 1..100 000 */
    int connections; /* sign-ups and log-ins, never a hello */
    int pipeline;    /* requests in flight on each */
    double seconds;  /* of log-ins */
    uint64_t seed;   /* which account each log-in takes */
    uint32_t kdf_memory_kib, kdf_time; /* wishd's kdf-memory, kdf-time:
                                          the hash timed here */
    int progress;    /* a line a second on stderr */
} wb_logins_opts;

typedef struct wb_logins_result {
    long invited;                 /* invite codes received */
    long created;                 /* accounts signed up */
    uint64_t signup_unavailable;  /* sign-ups answered UNAVAILABLE, redone */
    uint64_t signup_errors;       /* sign-ups refused otherwise */
    double signup_s;              /* first sign-up sent to the last answer */
    uint64_t sent, ok;            /* log-ins sent, answered with a token */
    uint64_t unavailable;         /* log-ins answered UNAVAILABLE (queue) */
    uint64_t errors;              /* log-ins refused otherwise */
    uint64_t lost;                /* requests on connections wishd closed */
    uint64_t reconnects;
    double elapsed_s;             /* first log-in sent to the last answer */
    wb_hist lat;                  /* log-in sent to answered, ok ones */
    double kdf_hash_ms;           /* one argon2id hash on this thread */
    int kdf_hashes;               /* hashes timed */
    double sha256_per_s;          /* SHA-256 of 32 bytes on this thread */
    char first_error[160];
} wb_logins_result;

/* Creates o->accounts accounts in o->city through wishd (an admin's
 * account.invite, then auth.signup), makes successful auth.login calls
 * for o->seconds, then times one argon2id hash with wishd's parameters
 * and SHA-256 on this thread. Fills res (zeroed first). Returns 0, or -1
 * with the reason on stderr when wishd could not be reached, the
 * invites failed or no account could be made; a partial run's counts
 * are in res either way. */
int wb_logins_run(const wb_logins_opts *o, wb_logins_result *res);

/* A blocking TCP connection to host:port (name or address). Returns the
 * socket, which the caller closes, or -1. */
int wb_dial(const char *host, int port);

/* The number of a task id object ("T42" -> 42), or 0 when o is not one. */
uint64_t wb_task_number(const msgpack_object *o);

/* The tasks the city has counted (its last task number), from the
 * library's wish_check (no task read); 0 when none or on any failure.
 * Defined in wishbench.c. */
struct redisContext;
uint64_t wb_city_tasks(struct redisContext *rc, const char *city);

#endif
