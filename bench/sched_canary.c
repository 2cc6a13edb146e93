/* sched_canary.c -- what the machine alone adds to a chain of wake-ups.
 *
 *   sched_canary RATE SECONDS PROCS LAPS
 *
 * A byte goes round a ring of PROCS processes through pipes, LAPS times
 * (PROCS * LAPS wake-ups in a row, no work between them), once every
 * 1 / RATE s, open loop: each round's latency counts from when it fell
 * due, as wishbench's --rate does. A post's way to `assigned` is such a
 * chain (wishbench -> wishd -> Redis -> wishd -> agent -> wishd -> Redis
 * -> wishd -> wishbench) with work at each step; run beside it, the
 * canary's tail is the part of that tail no software of ours can remove
 * (bench/latency_probe.sh). Prints one JSON line (milliseconds).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CANARY_MAX_PROCS 32

static uint64_t canary_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int canary_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Process i of the ring: passes on what it reads until its input ends. */
static void canary_relay(int in, int out)
{
    char b[64];
    for (;;) {
        ssize_t n = read(in, b, sizeof(b));
        if (n <= 0 || write(out, b, (size_t)n) != n) _exit(0);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sched_canary RATE SECONDS PROCS LAPS\n");
        return 2;
    }
    double rate = atof(argv[1]), secs = atof(argv[2]);
    int procs = atoi(argv[3]), laps = atoi(argv[4]);
    if (rate <= 0 || secs <= 0 || procs < 2 || procs > CANARY_MAX_PROCS ||
        laps < 1) {
        fprintf(stderr, "sched_canary: RATE, SECONDS > 0; PROCS 2..%d; "
                        "LAPS >= 1\n", CANARY_MAX_PROCS);
        return 2;
    }
    uint64_t rounds = (uint64_t)(rate * secs);
    if (rounds == 0) {
        fprintf(stderr, "sched_canary: RATE * SECONDS < 1\n");
        return 2;
    }
    uint64_t *lat = malloc(rounds * sizeof(*lat));
    if (lat == NULL) return 1;
    int fd[CANARY_MAX_PROCS][2]; /* fd[i]: into process i (0: this one) */
    pid_t kid[CANARY_MAX_PROCS] = {0};
    for (int i = 0; i < procs; i++)
        if (pipe(fd[i]) != 0) return 1;
    for (int i = 1; i < procs; i++) {
        kid[i] = fork();
        if (kid[i] < 0) return 1;
        if (kid[i] == 0) {
            /* only its own two ends: when this process ends, however it
             * ends, the ring closes and every relay reads EOF */
            for (int j = 0; j < procs; j++) {
                if (j != i) close(fd[j][0]);
                if (j != (i + 1) % procs) close(fd[j][1]);
            }
            canary_relay(fd[i][0], fd[(i + 1) % procs][1]);
        }
    }
    uint64_t t0 = canary_now_us();
    for (uint64_t k = 0; k < rounds; k++) {
        uint64_t due = t0 + (uint64_t)((double)k * 1e6 / rate);
        uint64_t now = canary_now_us();
        if (now < due) usleep((useconds_t)(due - now));
        char b = 1;
        for (int lap = 0; lap < laps; lap++)
            if (write(fd[1][1], &b, 1) != 1 || read(fd[0][0], &b, 1) != 1)
                return 1;
        lat[k] = canary_now_us() - due;
    }
    for (int i = 1; i < procs; i++) {
        kill(kid[i], SIGTERM);
        waitpid(kid[i], NULL, 0);
    }
    qsort(lat, rounds, sizeof(*lat), canary_cmp);
#define Q(q) ((double)lat[(size_t)((double)rounds * (q))] / 1000.0)
    printf("{\"command\":\"sched_canary\",\"rate\":%g,\"hops\":%d,"
           "\"rounds\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
           rate, procs * laps, (unsigned long long)rounds, Q(0.5), Q(0.99),
           Q(0.999), (double)lat[rounds - 1] / 1000.0);
    free(lat);
    return 0;
}
