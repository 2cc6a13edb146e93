/* route.c -- routing decisions of the cluster store (see route.h). */
#include "server/route.h"

#include <strings.h>
#include <string.h>

#include "server/keyslot.h"

#define ROUTE_MAX_REDIRECTS 5
#define ROUTE_BACKOFF_MIN_MS 10
#define ROUTE_BACKOFF_MAX_MS 200

route_policy route_policy_default(int64_t timeout_ms)
{
    route_policy p = {
        .timeout_ms = timeout_ms,
        .max_redirects = ROUTE_MAX_REDIRECTS,
        .backoff_min_ms = ROUTE_BACKOFF_MIN_MS,
        .backoff_max_ms = ROUTE_BACKOFF_MAX_MS,
    };
    return p;
}

/* True when argv[i][0..len) is the command name `name`, in any case. */
static bool name_is(const char *arg, size_t len, const char *name)
{
    return len == strlen(name) && strncasecmp(arg, name, len) == 0;
}

bool route_is_script(int argc, const char **argv, const size_t *argvlen)
{
    return argc >= 1 && (name_is(argv[0], argvlen[0], "FCALL") ||
                         name_is(argv[0], argvlen[0], "FCALL_RO"));
}

const char *route_key(int argc, const char **argv, const size_t *argvlen,
                      size_t *len)
{
    static const char *const keyless[] = {
        "FUNCTION", "PING",   "AUTH",     "ASKING", "CLUSTER",
        "INFO",     "SCRIPT", "READONLY", "HELLO",
    };
    if (argc < 2) return NULL;
    for (size_t i = 0; i < sizeof keyless / sizeof keyless[0]; i++)
        if (name_is(argv[0], argvlen[0], keyless[i])) return NULL;
    int k = 1;
    if (route_is_script(argc, argv, argvlen)) {
        /* FCALL name numkeys key...: numkeys must be a plain decimal of
         * at least 1 with a key after it. */
        if (argc < 4 || argvlen[2] == 0 || argvlen[2] > 9) return NULL;
        long n = 0;
        for (size_t i = 0; i < argvlen[2]; i++) {
            if (argv[2][i] < '0' || argv[2][i] > '9') return NULL;
            n = n * 10 + (argv[2][i] - '0');
        }
        if (n < 1) return NULL;
        k = 3;
    }
    *len = argvlen[k];
    return argv[k];
}

int route_slot(int argc, const char **argv, const size_t *argvlen)
{
    size_t len;
    const char *key = route_key(argc, argv, argvlen, &len);
    return key == NULL ? -1 : (int)keyslot_of(key, len);
}

/* Fills out for ROUTE_GIVE_UP with reason why. */
static route_action give_up(route_decision *out, const char *why)
{
    out->action = ROUTE_GIVE_UP;
    out->why = why;
    return out->action;
}

/* Fills out for ROUTE_RETRY after the call's earlier retries, or for
 * ROUTE_GIVE_UP (late) when that wait would end past its deadline. */
static route_action retry(route_attempt *a, int64_t now_ms,
                          const route_policy *p, const char *why_late,
                          route_decision *out)
{
    int64_t delay = p->backoff_min_ms;
    for (int i = 0; i < a->retries && delay < p->backoff_max_ms; i++)
        delay *= 2;
    if (delay > p->backoff_max_ms) delay = p->backoff_max_ms;
    if (now_ms + delay >= a->first_ms + p->timeout_ms) {
        out->late = true;
        return give_up(out, why_late);
    }
    a->retries++;
    out->delay_ms = delay;
    out->action = ROUTE_RETRY;
    return out->action;
}

route_action route_decide(route_attempt *a, const redisReply *reply,
                          int64_t now_ms, const route_policy *p,
                          route_decision *out)
{
    memset(out, 0, sizeof *out);
    out->action = ROUTE_REPLY;
    if (reply->type != REDIS_REPLY_ERROR) return out->action;
    redirect r;
    switch (redirect_parse(reply->str, (size_t)reply->len, &r)) {
    case REDIRECT_NONE:
        return out->action;
    case REDIRECT_MALFORMED:
        return give_up(out, "malformed redirection");
    case REDIRECT_MOVED:
    case REDIRECT_ASK:
        /* A redirection for another slot means the node and we disagree
         * on what the call is: following it could run the call against
         * the wrong city's node. */
        if (a->slot < 0 || (int)r.slot != a->slot)
            return give_up(out, "redirected for another slot");
        /* A function on the target would run on part of its city. */
        if (r.kind == REDIRECT_ASK && a->script)
            return retry(a, now_ms, p, "slot still migrating at the deadline",
                         out);
        if (a->redirects >= p->max_redirects)
            return give_up(out, "too many redirections");
        a->redirects++;
        out->target = r;
        out->refresh = r.kind == REDIRECT_MOVED;
        out->action = r.kind == REDIRECT_MOVED ? ROUTE_MOVED : ROUTE_ASK;
        return out->action;
    case REDIRECT_TRYAGAIN:
    case REDIRECT_CLUSTERDOWN:
        out->refresh = r.kind == REDIRECT_CLUSTERDOWN;
        return retry(a, now_ms, p,
                     r.kind == REDIRECT_TRYAGAIN
                         ? "slot still migrating at the deadline"
                         : "cluster down at the deadline",
                     out);
    }
    return out->action;
}
