/* kdf.c -- argon2id in worker threads; see kdf.h. */
#include "server/kdf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "server/log.h"

#define KDF_SALT_LEN 16
#define KDF_TAG_LEN 32

enum kdf_kind { KDF_CHECK, KDF_HASH };

typedef struct kdf_job {
    enum kdf_kind kind;
    char password[KDF_PASSWORD_MAX];
    size_t len;
    /* KDF_CHECK: the stored hash in; KDF_HASH: the new hash out. */
    char encoded[KDF_ENCODED_MAX];
    int ok, error;
    kdf_callback *cb;
    void *arg;
    struct kdf_job *next;
} kdf_job;

/* A FIFO of jobs. */
typedef struct kdf_list {
    kdf_job *head, *tail;
    size_t n;
} kdf_list;

struct kdf {
    kdf_options opts;
    pthread_t *threads;
    int nthreads; /* started */
    /* Under mu: the jobs waiting for a worker, those done and not yet
     * reported, and the stop flag. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kdf_list todo, done;
    bool stopping;
    size_t pending; /* loop thread only: accepted, not yet reported */
    int wake[2];    /* a worker writes a byte when it adds to done */
    struct event *wake_ev;
};

static void kdf_list_push(kdf_list *l, kdf_job *j)
{
    j->next = NULL;
    if (l->tail) l->tail->next = j;
    else l->head = j;
    l->tail = j;
    l->n++;
}

/* Takes the whole list, leaving it empty. */
static kdf_job *kdf_list_take(kdf_list *l)
{
    kdf_job *all = l->head;
    *l = (kdf_list){0};
    return all;
}

int kdf_hash_now(const kdf_options *opts, const char *password, size_t len,
                 char *out)
{
    unsigned char salt[KDF_SALT_LEN];
    if (RAND_bytes(salt, sizeof(salt)) != 1) return -1;
    int rc = argon2id_hash_encoded(opts->passes, opts->memory_kib, 1,
                                   password, len, salt, sizeof(salt),
                                   KDF_TAG_LEN, out, KDF_ENCODED_MAX);
    return rc == ARGON2_OK ? 0 : -1;
}

/* Runs one job on a worker thread and wipes its password. */
static void kdf_run(const kdf_options *opts, kdf_job *j)
{
    if (j->kind == KDF_HASH) {
        j->ok = kdf_hash_now(opts, j->password, j->len, j->encoded) == 0;
        j->error = !j->ok;
    } else {
        int rc = argon2id_verify(j->encoded, j->password, j->len);
        j->ok = rc == ARGON2_OK;
        j->error = rc != ARGON2_OK && rc != ARGON2_VERIFY_MISMATCH;
    }
    OPENSSL_cleanse(j->password, sizeof(j->password));
}

static void *kdf_worker(void *arg)
{
    kdf *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->stopping && k->todo.head == NULL)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stopping) break;
        kdf_job *j = k->todo.head;
        k->todo.head = j->next;
        if (k->todo.head == NULL) k->todo.tail = NULL;
        k->todo.n--;
        pthread_mutex_unlock(&k->mu);

        kdf_run(&k->opts, j);

        pthread_mutex_lock(&k->mu);
        kdf_list_push(&k->done, j);
        /* A full pipe already holds a wake-up: the loop drains all. */
        ssize_t w = write(k->wake[1], "", 1);
        (void)w;
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* Reports each job of the list to its callback and frees it. */
static void kdf_report(kdf *k, kdf_job *j, bool failed)
{
    while (j != NULL) {
        kdf_job *next = j->next;
        if (failed) j->ok = 0, j->error = 1;
        kdf_result res = {.ok = j->ok, .error = j->error,
                          .encoded = j->kind == KDF_HASH && j->ok
                                         ? j->encoded
                                         : NULL};
        k->pending--;
        j->cb(j->arg, &res);
        OPENSSL_cleanse(j, sizeof(*j));
        free(j);
        j = next;
    }
}

static void kdf_on_wake(evutil_socket_t fd, short what, void *arg)
{
    kdf *k = arg;
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    pthread_mutex_lock(&k->mu);
    kdf_job *done = kdf_list_take(&k->done);
    pthread_mutex_unlock(&k->mu);
    kdf_report(k, done, false);
}

kdf *kdf_new(struct event_base *base, const kdf_options *opts)
{
    kdf *k = calloc(1, sizeof(*k));
    if (k == NULL) return NULL;
    k->opts = *opts;
    k->wake[0] = k->wake[1] = -1;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        (k->wake_ev = event_new(base, k->wake[0], EV_READ | EV_PERSIST,
                                kdf_on_wake, k)) == NULL ||
        event_add(k->wake_ev, NULL) != 0 ||
        (k->threads = calloc((size_t)opts->threads, sizeof(pthread_t))) ==
            NULL) {
        kdf_free(k);
        return NULL;
    }
    for (; k->nthreads < opts->threads; k->nthreads++) {
        int rc = pthread_create(&k->threads[k->nthreads], NULL, kdf_worker, k);
        if (rc != 0) {
            log_error("kdf: cannot start a worker thread: %s", strerror(rc));
            kdf_free(k);
            return NULL;
        }
    }
    return k;
}

void kdf_free(kdf *k)
{
    if (k == NULL) return;
    pthread_mutex_lock(&k->mu);
    k->stopping = true;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    for (int i = 0; i < k->nthreads; i++) pthread_join(k->threads[i], NULL);
    /* No worker is left: the lists are the loop's own now. */
    kdf_report(k, kdf_list_take(&k->done), true);
    kdf_report(k, kdf_list_take(&k->todo), true);
    if (k->wake_ev) event_free(k->wake_ev);
    if (k->wake[0] >= 0) close(k->wake[0]);
    if (k->wake[1] >= 0) close(k->wake[1]);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k->threads);
    free(k);
}

/* Queues a job. Returns 0, or -1 when the queue is full. */
static int kdf_submit(kdf *k, kdf_job *j)
{
    pthread_mutex_lock(&k->mu);
    bool full = k->stopping || k->todo.n >= (size_t)k->opts.queue_max;
    if (!full) {
        kdf_list_push(&k->todo, j);
        pthread_cond_signal(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    if (full) {
        OPENSSL_cleanse(j, sizeof(*j));
        free(j);
        return -1;
    }
    k->pending++;
    return 0;
}

/* A job carrying a copy of password[len]; NULL when too long or OOM. */
static kdf_job *kdf_job_new(enum kdf_kind kind, const char *password,
                            size_t len, kdf_callback *cb, void *arg)
{
    if (len > KDF_PASSWORD_MAX) return NULL;
    kdf_job *j = calloc(1, sizeof(*j));
    if (j == NULL) return NULL;
    j->kind = kind;
    memcpy(j->password, password, len);
    j->len = len;
    j->cb = cb;
    j->arg = arg;
    return j;
}

int kdf_check(kdf *k, const char *encoded, const char *password,
              size_t len, kdf_callback *cb, void *arg)
{
    if (strlen(encoded) >= KDF_ENCODED_MAX) return -1;
    kdf_job *j = kdf_job_new(KDF_CHECK, password, len, cb, arg);
    if (j == NULL) return -1;
    strcpy(j->encoded, encoded);
    return kdf_submit(k, j);
}

int kdf_hash(kdf *k, const char *password, size_t len, kdf_callback *cb,
             void *arg)
{
    kdf_job *j = kdf_job_new(KDF_HASH, password, len, cb, arg);
    return j != NULL ? kdf_submit(k, j) : -1;
}

size_t kdf_pending(const kdf *k)
{
    return k->pending;
}
