/* cert_worker.h -- rendering certificates off the event loop.
 *
 * A certificate's PDF takes cairo tens of milliseconds (subsetting the
 * CJK font is most of it; docs/operations.md gives the figures): on the
 * loop that would stall every connection.
 * So one worker thread renders, kdf.h's way: the loop hands a job over,
 * the worker renders, the result comes back through a pipe and the
 * job's callback runs on the loop. The worker owns the font face (a
 * FreeType face is not safe to share between threads); nothing else
 * crosses threads, as a job owns its document.
 *
 * Slots are reserved before the work that leads to a render (recording
 * the certificate in Redis), so that a full queue refuses the request
 * before anything was recorded, never after.
 */
#ifndef WISHD_CERT_WORKER_H
#define WISHD_CERT_WORKER_H

#include <stddef.h>

#include "server/cert_pdf.h"

struct event_base;
typedef struct cert_worker cert_worker;

/* A render's outcome: the PDF (valid during the callback only) or
 * `error` with a reason. */
typedef struct cert_result {
    const unsigned char *pdf;
    size_t len;
    int error;
    const char *why;
} cert_result;

/* Runs on the loop thread, exactly once per submitted job. */
typedef void cert_callback(void *arg, const cert_result *res);

/* Loads face `index` of the font file and starts the worker on `base`,
 * with room for queue_max jobs (running or waiting). Returns NULL with a
 * reason in why[why_size] when the font cannot be loaded or the thread
 * or pipe cannot be made. */
cert_worker *cert_worker_new(struct event_base *base, const char *font,
                             int index, int queue_max, char *why,
                             size_t why_size);

/* Stops the worker (it finishes the job in hand), runs the callback of
 * every job not yet reported with error set, frees the font and
 * cairo's caches. NULL is a no-op. */
void cert_worker_free(cert_worker *w);

/* Reserves a slot for a job to be submitted later. Returns 0, or -1
 * when every slot is taken. */
int cert_worker_reserve(cert_worker *w);

/* Gives back a slot reserved and not used. */
void cert_worker_release(cert_worker *w);

/* Submits a render of doc (malloc'd; the job owns and frees it) into a
 * slot reserved before. Returns 0: cb runs later, never from inside
 * this call; or -1 (out of memory): doc is freed, the slot given back,
 * and cb will not run. */
int cert_worker_submit(cert_worker *w, cert_doc *doc, cert_callback *cb,
                       void *arg);

#endif
