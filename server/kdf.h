/* kdf.h -- password hashing and checking off the event loop.
 *
 * argon2id is slow and memory-hard on purpose (that is what makes a stolen
 * hash expensive to attack): one check takes tens of milliseconds and
 * kdf-memory KiB. On the event loop that would stall every connection, so
 * a few worker threads (kdf-threads) do it, redis's bio threads' manner:
 * the loop hands a job over, a worker computes, and the result comes back
 * to the loop through a pipe, where the job's callback runs. Nothing else
 * crosses threads: a job owns copies of what it reads.
 *
 * The queue is bounded (kdf-queue-max jobs waiting): past it a job is
 * refused at once, so a flood of log-ins costs the city a quick
 * UNAVAILABLE instead of unbounded memory and latency. Passwords are
 * wiped from memory as soon as a worker has used them.
 */
#ifndef WISHD_KDF_H
#define WISHD_KDF_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct kdf kdf;

#define KDF_PASSWORD_MAX 256 /* bytes */
#define KDF_ENCODED_MAX 192  /* an encoded argon2id hash, with its NUL */

typedef struct kdf_options {
    uint32_t memory_kib; /* kdf-memory */
    uint32_t passes;     /* kdf-time */
    int threads;         /* kdf-threads */
    int queue_max;       /* kdf-queue-max */
} kdf_options;

/* What a job gives back. `ok`: for a check, whether the password matched;
 * for a hash, whether it was made (then `encoded` holds it). `error` is
 * set when the job could not run at all (shutdown, a malformed stored
 * hash, out of memory): answer UNAVAILABLE or INTERNAL then. */
typedef struct kdf_result {
    int ok;
    int error;
    const char *encoded; /* hash jobs: "$argon2id$v=19$m=...", NUL-ended */
} kdf_result;

/* Runs on the event loop thread with the job's result (valid during the
 * call only), exactly once per accepted job. */
typedef void kdf_callback(void *arg, const kdf_result *res);

/* Starts the worker threads on `base`. Returns NULL when they or the
 * pipe cannot be made. */
kdf *kdf_new(struct event_base *base, const kdf_options *opts);

/* Stops the workers (each finishes the job in hand), then runs the
 * callback of every job not yet reported with error set. */
void kdf_free(kdf *k);

/* Checks password[len] against an encoded argon2id hash, in constant
 * time (libargon2 compares the tags so). Returns 0 when queued (cb runs
 * later, never from inside this call), -1 when the queue is full or the
 * arguments are too long (cb will not run). */
int kdf_check(kdf *k, const char *encoded, const char *password,
              size_t len, kdf_callback *cb, void *arg);

/* Hashes password[len] with a fresh random 16-byte salt and the options'
 * parameters. Returns as kdf_check(). */
int kdf_hash(kdf *k, const char *password, size_t len, kdf_callback *cb,
             void *arg);

/* Hashes password[len] at once, on the calling thread, into
 * out[KDF_ENCODED_MAX]. Returns 0 or -1. For start-up (the stand-in hash
 * that unknown users are checked against) and tools. */
int kdf_hash_now(const kdf_options *opts, const char *password, size_t len,
                 char *out);

/* Jobs queued or in a worker's hands now. */
size_t kdf_pending(const kdf *k);

#endif
