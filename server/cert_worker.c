/* cert_worker.c -- the certificate rendering thread; see cert_worker.h. */
#include "server/cert_worker.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-ft.h>
#include <event2/event.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include "server/log.h"

typedef struct cert_job {
    cert_doc *doc;
    unsigned char *pdf;
    size_t len;
    int error;
    char why[128];
    cert_callback *cb;
    void *arg;
    struct cert_job *next;
} cert_job;

struct cert_worker {
    FT_Library ft;
    cairo_font_face_t *face;
    pthread_t thread;
    bool started;
    /* Under mu: jobs waiting, jobs done and not reported, the stop flag. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cert_job *todo_head, *todo_tail, *done;
    bool stopping;
    int slots;      /* loop thread only: reserved, queued or running */
    int queue_max;
    int wake[2];    /* the worker writes a byte when it adds to done */
    struct event *wake_ev;
};

/* cairo keeps a font face in its caches past cairo_font_face_destroy;
 * the FreeType face must live until cairo lets go of it, so cairo frees
 * it, through this key's destructor. */
static cairo_user_data_key_t cert_ft_key;

static void cert_ft_done(void *face)
{
    FT_Done_Face(face);
}

static void *cert_worker_main(void *arg)
{
    cert_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stopping && w->todo_head == NULL)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping) break;
        cert_job *j = w->todo_head;
        w->todo_head = j->next;
        if (w->todo_head == NULL) w->todo_tail = NULL;
        pthread_mutex_unlock(&w->mu);

        j->error = cert_pdf_render(j->doc, w->face, &j->pdf, &j->len, j->why,
                                   sizeof(j->why)) != 0;

        pthread_mutex_lock(&w->mu);
        j->next = w->done;
        w->done = j;
        ssize_t n = write(w->wake[1], "", 1); /* full pipe: woken already */
        (void)n;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Reports each job of the list (failed: as an error) and frees it. */
static void cert_worker_report(cert_worker *w, cert_job *j, bool failed)
{
    while (j != NULL) {
        cert_job *next = j->next;
        cert_result res = {.pdf = j->pdf, .len = j->len,
                           .error = failed || j->error,
                           .why = failed ? "shutting down" : j->why};
        w->slots--;
        j->cb(j->arg, &res);
        free(j->pdf);
        free(j->doc);
        free(j);
        j = next;
    }
}

static void cert_worker_on_wake(evutil_socket_t fd, short what, void *arg)
{
    cert_worker *w = arg;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    pthread_mutex_lock(&w->mu);
    cert_job *done = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    cert_worker_report(w, done, false);
}

/* Loads the FreeType face and wraps it for cairo. Returns 0 or -1. */
static int cert_worker_load_font(cert_worker *w, const char *font, int index,
                                 char *why, size_t why_size)
{
    FT_Face face;
    if (FT_Init_FreeType(&w->ft) != 0) {
        w->ft = NULL;
        snprintf(why, why_size, "cannot start FreeType");
        return -1;
    }
    if (FT_New_Face(w->ft, font, index, &face) != 0) {
        snprintf(why, why_size, "cannot load font %s (face %d)", font, index);
        return -1;
    }
    w->face = cairo_ft_font_face_create_for_ft_face(face, 0);
    if (cairo_font_face_set_user_data(w->face, &cert_ft_key, face,
                                      cert_ft_done) != CAIRO_STATUS_SUCCESS) {
        cairo_font_face_destroy(w->face);
        w->face = NULL;
        FT_Done_Face(face);
        snprintf(why, why_size, "cannot load font %s: out of memory", font);
        return -1;
    }
    return 0;
}

cert_worker *cert_worker_new(struct event_base *base, const char *font,
                             int index, int queue_max, char *why,
                             size_t why_size)
{
    cert_worker *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    w->queue_max = queue_max;
    w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (cert_worker_load_font(w, font, index, why, why_size) != 0)
        goto err;
    if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        (w->wake_ev = event_new(base, w->wake[0], EV_READ | EV_PERSIST,
                                cert_worker_on_wake, w)) == NULL ||
        event_add(w->wake_ev, NULL) != 0) {
        snprintf(why, why_size, "cannot make the worker's pipe");
        goto err;
    }
    int rc = pthread_create(&w->thread, NULL, cert_worker_main, w);
    if (rc != 0) {
        snprintf(why, why_size, "cannot start the worker: %s", strerror(rc));
        goto err;
    }
    w->started = true;
    return w;
err:
    cert_worker_free(w);
    return NULL;
}

void cert_worker_free(cert_worker *w)
{
    if (w == NULL) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->thread, NULL);
    /* No worker is left: the lists are the loop's own now. */
    cert_job *done = w->done, *todo = w->todo_head;
    w->done = w->todo_head = w->todo_tail = NULL;
    cert_worker_report(w, done, true);
    cert_worker_report(w, todo, true);
    if (w->wake_ev) event_free(w->wake_ev);
    if (w->wake[0] >= 0) close(w->wake[0]);
    if (w->wake[1] >= 0) close(w->wake[1]);
    if (w->face) cairo_font_face_destroy(w->face);
    /* cairo's font and glyph caches hold the face (and through it the
     * FreeType face) until reset: drop them before FreeType goes, which
     * would otherwise free the face under them. Nothing else in wishd
     * uses cairo, and every surface is gone. */
    cairo_debug_reset_static_data();
    if (w->ft) FT_Done_FreeType(w->ft);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int cert_worker_reserve(cert_worker *w)
{
    if (w->slots >= w->queue_max) return -1;
    w->slots++;
    return 0;
}

void cert_worker_release(cert_worker *w)
{
    w->slots--;
}

int cert_worker_submit(cert_worker *w, cert_doc *doc, cert_callback *cb,
                       void *arg)
{
    cert_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        w->slots--;
        free(doc);
        return -1;
    }
    j->doc = doc;
    j->cb = cb;
    j->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (w->todo_tail) w->todo_tail->next = j;
    else w->todo_head = j;
    w->todo_tail = j;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}
