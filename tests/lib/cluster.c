/* cluster.c -- a 3-master, 3-replica Redis Cluster on loopback (see
 * cluster.h for the contracts).
 *
 * Built on the harness's children (th_child_start()) rather than on its
 * single redis-server, so that each node is one more process the env
 * already knows how to kill, whatever the test does.
 */
#include "tests/lib/cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUS_OFFSET 10000 /* Redis's cluster bus port is port + 10000 */
#define PORT_LIMIT 55536 /* so that the bus port is a valid port */
#define CREATE_MS 20000  /* redis-cli --cluster create */
#define STEP_MS 50       /* polling the nodes */
#define TAIL_LINES 30

typedef struct th_cluster_node {
    int port;
    char dir[TH_PATH_MAX];
    th_child *proc;
} th_cluster_node;

struct th_cluster {
    th_env *env;
    th_cluster_node node[TH_CLUSTER_NODES];
    /* th_cluster_opts, copied ("": none). */
    char password[TH_CLUSTER_SECRET_MAX];
    char acl_user[TH_CLUSTER_SECRET_MAX], acl_password[TH_CLUSTER_SECRET_MAX];
};

/* ========================================================================
 * Ports and files
 * ===================================================================== */

/* True when 127.0.0.1:port can be bound right now. */
static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* A free port below PORT_LIMIT whose bus port is free too, and not one
 * already given to the first n nodes. Returns it or -1. */
static int pick_port(const th_cluster *c, int n)
{
    for (int tries = 0; tries < 200; tries++) {
        int port = th_free_port();
        if (port < 0) return -1;
        if (port >= PORT_LIMIT || !port_free(port + BUS_OFFSET)) continue;
        bool taken = false;
        for (int i = 0; i < n && !taken; i++)
            taken = c->node[i].port == port ||
                    c->node[i].port + BUS_OFFSET == port ||
                    c->node[i].port == port + BUS_OFFSET;
        if (!taken) return port;
    }
    th_log("cluster: no free port pair below %d", PORT_LIMIT);
    return -1;
}

/* Copies an option into dst[TH_CLUSTER_SECRET_MAX]: NULL is "". Returns
 * 0, or -1 when too long or not made of [A-Za-z0-9_-] (it goes into
 * redis.conf and argv unquoted). */
static int copy_secret(char *dst, const char *src)
{
    dst[0] = '\0';
    if (src == NULL) return 0;
    size_t len = strlen(src);
    if (len >= TH_CLUSTER_SECRET_MAX ||
        strspn(src, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-") != len) {
        th_log("cluster: option \"%s\" refused", src);
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

/* Writes node n's redis.conf into its dir. Returns 0 or -1. */
static int write_conf(const th_cluster *c, const th_cluster_node *n)
{
    char path[TH_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/redis.conf", n->dir);
    FILE *f = fopen(path, "we");
    if (!f) {
        th_log("cluster: %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "port %d\n"
            "bind 127.0.0.1\n"
            "dir %s\n"
            "logfile %s/redis.log\n"
            "daemonize no\n"
            "protected-mode no\n"
            "save \"\"\n"
            "enable-debug-command local\n"
            "cluster-enabled yes\n"
            "cluster-config-file nodes.conf\n"
            "cluster-node-timeout 1000\n"
            "appendonly yes\n"
            "appendfsync always\n"
            /* A replica's first sync starts at once, not after the
             * default 5 s wait for more replicas to share it. */
            "repl-diskless-sync-delay 0\n",
            n->port, n->dir, n->dir);
    if (c->password[0])
        fprintf(f, "requirepass %s\nmasterauth %s\n", c->password, c->password);
    if (c->acl_user[0])
        fprintf(f, "user %s on >%s ~* &* +@all\n", c->acl_user,
                c->acl_password);
    return fclose(f) == 0 ? 0 : -1;
}

/* ========================================================================
 * Talking to nodes
 * ===================================================================== */

/* Runs a command on node i with `ms` to connect and 5 times that for the
 * reply; failures printed unless `quiet`. */
static redisReply *node_vcmd(const th_cluster *c, int i, bool quiet, int ms,
                             const char *fmt, va_list ap)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisContext *rc =
        redisConnectWithTimeout("127.0.0.1", c->node[i].port, tv);
    if (!rc || rc->err) {
        if (!quiet)
            th_log("cluster node %d (port %d): %s", i, c->node[i].port,
                   rc ? rc->errstr : "out of memory");
        redisFree(rc);
        return NULL;
    }
    struct timeval cmd_tv = {5 * ms / 1000, (5 * ms % 1000) * 1000};
    redisSetTimeout(rc, cmd_tv);
    if (c->password[0]) {
        redisReply *a = redisCommand(rc, "AUTH %s", c->password);
        bool ok = a != NULL && a->type == REDIS_REPLY_STATUS;
        if (!ok && !quiet)
            th_log("cluster node %d (port %d): AUTH: %s", i, c->node[i].port,
                   a != NULL && a->str != NULL ? a->str : rc->errstr);
        if (a != NULL) freeReplyObject(a);
        if (!ok) {
            redisFree(rc);
            return NULL;
        }
    }
    redisReply *r = redisvCommand(rc, fmt, ap);
    if (!r && !quiet)
        th_log("cluster node %d (port %d): %s", i, c->node[i].port, rc->errstr);
    redisFree(rc);
    return r;
}

/* node_vcmd() with variable arguments, quiet, 200 ms: for polling. */
static redisReply *node_poll(const th_cluster *c, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(c, i, true, 200, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *th_cluster_cmd(th_cluster *c, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(c, i, false, 1000, fmt, ap);
    va_end(ap);
    return r;
}

/* True when node i answers PING now. */
static bool node_pong(const th_cluster *c, int i)
{
    redisReply *r = node_poll(c, i, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    return ok;
}

/* True when node i says cluster_state:ok and, with `known` > 0, knows
 * that many nodes. */
static bool node_ok(const th_cluster *c, int i, int known)
{
    redisReply *r = node_poll(c, i, "CLUSTER INFO");
    bool ok = r && r->type == REDIS_REPLY_STRING &&
              strstr(r->str, "cluster_state:ok");
    if (ok && known > 0) {
        char want[48];
        snprintf(want, sizeof want, "cluster_known_nodes:%d\r", known);
        ok = strstr(r->str, want) != NULL;
    }
    if (r) freeReplyObject(r);
    return ok;
}

/* True when node i's replication is up: a master has one replica online,
 * a replica's link to its master is up. Without it a failover right after
 * the start would promote a replica that has nothing yet. */
static bool node_repl_ok(const th_cluster *c, int i)
{
    redisReply *r = node_poll(c, i, "INFO replication");
    bool ok = false;
    if (r && r->type == REDIS_REPLY_STRING) {
        if (strstr(r->str, "role:master"))
            ok = strstr(r->str, "connected_slaves:1\r") &&
                 strstr(r->str, "state=online");
        else
            ok = strstr(r->str, "master_link_status:up") != NULL;
    }
    if (r) freeReplyObject(r);
    return ok;
}

/* True while node i's process runs. */
static bool node_running(const th_cluster *c, int i)
{
    return c->node[i].proc && th_child_wait(c->node[i].proc, 0) == TH_TIMEOUT;
}

/* Waits until every running node passes node_ok(known). */
static int wait_all_ok(th_cluster *c, int known, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        bool all = true;
        for (int i = 0; i < TH_CLUSTER_NODES && all; i++)
            all = !node_running(c, i) || node_ok(c, i, known);
        if (all) return TH_OK;
        if (th_now_ms() >= deadline) return TH_TIMEOUT;
        th_sleep_ms(STEP_MS);
    }
}

int th_cluster_wait_ok(th_cluster *c, int timeout_ms)
{
    return wait_all_ok(c, 0, timeout_ms);
}

/* ========================================================================
 * Start and stop
 * ===================================================================== */

/* Prints every node's log tail, for a failed start. */
static void print_tails(const th_cluster *c)
{
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        if (!c->node[i].dir[0]) continue;
        char path[TH_PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/redis.log", c->node[i].dir);
        th_log_tail(path, TAIL_LINES);
    }
}

/* Starts node i's redis-server. Returns 0 or -1. */
static int start_node(th_cluster *c, int i)
{
    th_cluster_node *n = &c->node[i];
    char conf[TH_PATH_MAX + 16], err[TH_PATH_MAX + 16];
    snprintf(conf, sizeof conf, "%s/redis.conf", n->dir);
    snprintf(err, sizeof err, "%s/redis.out", n->dir);
    const char *argv[] = {"redis-server", conf, NULL};
    th_child_opts opts = {.err_path = err};
    n->proc = th_child_start(c->env, argv, &opts);
    return n->proc ? 0 : -1;
}

/* Node i on a port picked now (pick_port()), in a directory of that
 * port's name under base, started. Returns 0 or -1. */
static int make_node(th_cluster *c, int i, const char *base)
{
    th_cluster_node *n = &c->node[i];
    if ((n->port = pick_port(c, i)) < 0) return -1;
    int len = snprintf(n->dir, sizeof n->dir, "%s/%d", base, n->port);
    if (len < 0 || (size_t)len >= sizeof n->dir || mkdir(n->dir, 0700) < 0 ||
        write_conf(c, n) < 0) {
        th_log("cluster: node dir %s: %s", n->dir, strerror(errno));
        return -1;
    }
    return start_node(c, i);
}

/* True when node i exited because its port or bus port was taken between
 * pick_port()'s check and its bind: by a test running beside this one
 * (tests/run_tests.sh). */
static bool node_port_raced(const th_cluster *c, int i)
{
    char path[TH_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/redis.log", c->node[i].dir);
    return th_file_contains(path, "Address already in use");
}

/* Joins the started nodes with redis-cli --cluster create. Returns 0 or
 * -1 (its output printed). */
static int create_cluster(th_cluster *c)
{
    char addr[TH_CLUSTER_NODES][32];
    /* redis-cli --cluster create, the nodes, three options, a password
     * (three more), NULL. */
    const char *argv[3 + TH_CLUSTER_NODES + 3 + 3 + 1];
    int a = 0;
    argv[a++] = "redis-cli";
    argv[a++] = "--cluster";
    argv[a++] = "create";
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", c->node[i].port);
        argv[a++] = addr[i];
    }
    argv[a++] = "--cluster-replicas";
    argv[a++] = "1";
    argv[a++] = "--cluster-yes";
    if (c->password[0]) {
        argv[a++] = "-a";
        argv[a++] = c->password;
        argv[a++] = "--no-auth-warning";
    }
    argv[a] = NULL;
    th_child *cli = th_child_start(c->env, argv, NULL);
    if (!cli) return -1;
    int code = th_child_finish(cli, CREATE_MS);
    if (code != 0)
        th_log("cluster: redis-cli --cluster create: code %d\n%s%s", code,
               th_child_out(cli, NULL), th_child_err(cli));
    th_child_free(cli);
    return code == 0 ? 0 : -1;
}

/* th_defer() callback: frees a handle the test did not stop (its
 * children are killed by th_stop() themselves). */
static void cluster_free(void *arg)
{
    free(arg);
}

th_cluster *th_cluster_start(th_env *env)
{
    return th_cluster_start_with(env, NULL);
}

th_cluster *th_cluster_start_with(th_env *env, const th_cluster_opts *o)
{
    th_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        th_log("cluster: out of memory");
        return NULL;
    }
    c->env = env;
    if (o != NULL && (copy_secret(c->password, o->password) < 0 ||
                      copy_secret(c->acl_user, o->acl_user) < 0 ||
                      copy_secret(c->acl_password, o->acl_password) < 0 ||
                      (c->acl_user[0] && !c->acl_password[0]))) {
        free(c);
        return NULL;
    }
    char base[TH_PATH_MAX];
    if (th_path(env, "cluster", base, sizeof base) < 0 ||
        (mkdir(base, 0700) < 0 && errno != EEXIST)) {
        th_log("cluster: mkdir %s: %s", base, strerror(errno));
        free(c);
        return NULL;
    }
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        if (make_node(c, i, base) < 0) goto err;
    int64_t deadline = th_now_ms() + TH_CLUSTER_START_MS;
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        /* A port taken before the node bound it: another port, a few
         * times (nothing was told this one yet). */
        int moves = 0;
        while (!node_pong(c, i)) {
            if (!node_running(c, i) && moves < 4 && node_port_raced(c, i)) {
                th_log("cluster: node %d's port %d was taken before it bound "
                       "it; another port", i, c->node[i].port);
                moves++;
                th_child_free(c->node[i].proc);
                c->node[i].proc = NULL;
                if (make_node(c, i, base) < 0) goto err;
                continue;
            }
            if (!node_running(c, i) || th_now_ms() >= deadline) {
                th_log("cluster: node %d (port %d) did not come up", i,
                       c->node[i].port);
                goto err;
            }
            th_sleep_ms(STEP_MS);
        }
    }
    if (create_cluster(c) < 0) goto err;
    int left = (int)(deadline - th_now_ms());
    if (wait_all_ok(c, TH_CLUSTER_NODES, left > 0 ? left : 1) != TH_OK) {
        th_log("cluster: not ok on every node within %d ms",
               TH_CLUSTER_START_MS);
        goto err;
    }
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        while (!node_repl_ok(c, i)) {
            if (th_now_ms() >= deadline) {
                th_log("cluster: node %d (port %d): replication not up "
                       "within %d ms",
                       i, c->node[i].port, TH_CLUSTER_START_MS);
                goto err;
            }
            th_sleep_ms(STEP_MS);
        }
    }
    if (th_defer(env, cluster_free, c) < 0) goto err;
    return c;
err:
    print_tails(c);
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        th_child_free(c->node[i].proc);
    free(c);
    return NULL;
}

int th_cluster_restart_node(th_cluster *c, int i)
{
    if (node_running(c, i)) return -1;
    th_child_free(c->node[i].proc); /* reaped already: frees the handle */
    c->node[i].proc = NULL;
    return start_node(c, i);
}

int th_cluster_port(const th_cluster *c, int i)
{
    return c->node[i].port;
}

int th_cluster_seeds(const th_cluster *c, char *buf, size_t size)
{
    size_t off = 0;
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        int n = snprintf(buf + off, size - off, "%s127.0.0.1:%d",
                         i > 0 ? "," : "", c->node[i].port);
        if (n < 0 || (size_t)n >= size - off) return -1;
        off += (size_t)n;
    }
    return 0;
}

pid_t th_cluster_pid(const th_cluster *c, int i)
{
    return node_running(c, i) ? th_child_pid(c->node[i].proc) : 0;
}

const char *th_cluster_dir(const th_cluster *c, int i)
{
    return c->node[i].dir;
}

int th_cluster_signal(th_cluster *c, int i, int sig)
{
    if (!c->node[i].proc) return -1;
    return th_child_signal(c->node[i].proc, sig);
}

/* ========================================================================
 * Who serves what
 * ===================================================================== */

/* The node listening on port, or -1. */
static int node_by_port(const th_cluster *c, int port)
{
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        if (c->node[i].port == port) return i;
    return -1;
}

/* The node a MOVED error text points to, or -1. Parsed here with
 * sscanf rather than server/redirect.c: the harness links without the
 * server library, and the text comes from our own test nodes. */
static int moved_node(const th_cluster *c, const char *text)
{
    int port;
    if (sscanf(text, "MOVED %*u %*[^:]:%d", &port) != 1) return -1;
    return node_by_port(c, port);
}

int th_cluster_master_of(th_cluster *c, const char *key)
{
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        if (!node_running(c, i)) continue;
        redisReply *r = node_poll(c, i, "EXISTS %s", key);
        if (!r) continue;
        int owner = -1;
        if (r->type == REDIS_REPLY_INTEGER)
            owner = i;
        else if (r->type == REDIS_REPLY_ERROR)
            owner = moved_node(c, r->str);
        freeReplyObject(r);
        if (owner < 0 || !node_running(c, owner)) continue;
        if (owner == i) return i;
        /* Follow the MOVED once: the target must agree. */
        r = node_poll(c, owner, "EXISTS %s", key);
        bool agrees = r && r->type == REDIS_REPLY_INTEGER;
        if (r) freeReplyObject(r);
        if (agrees) return owner;
    }
    return -1;
}

int th_cluster_wait_master_of(th_cluster *c, const char *key, int not_node,
                              int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int m = th_cluster_master_of(c, key);
        if (m >= 0 && m != not_node && node_ok(c, m, 0)) return m;
        if (th_now_ms() >= deadline) return -1;
        th_sleep_ms(STEP_MS);
    }
}

int th_cluster_city_on(th_cluster *c, int node, char *buf, size_t size)
{
    for (int n = 0; n < 1000; n++) {
        char key[32];
        snprintf(key, sizeof key, "{c%d}", n);
        if (th_cluster_master_of(c, key) == node) {
            snprintf(buf, size, "c%d", n);
            return 0;
        }
    }
    return -1;
}

void th_cluster_stop(th_cluster *c)
{
    if (!c) return;
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        th_child *p = c->node[i].proc;
        if (!p) continue;
        /* A stopped (SIGSTOP) node must be continued to see SIGTERM. */
        if (th_child_signal(p, SIGCONT) == 0) th_child_signal(p, SIGTERM);
    }
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        th_child *p = c->node[i].proc;
        if (p && th_child_wait(p, TH_STOP_MS) == TH_TIMEOUT)
            th_log("cluster: node %d ignored SIGTERM; SIGKILL", i);
        th_child_free(p); /* kills it if still running */
    }
    th_undefer(c->env, cluster_free, c);
    free(c);
}
