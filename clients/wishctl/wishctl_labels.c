/* wishctl_labels.c -- the skill catalogue for labels; see
 * wishctl_labels.h. */
#include "clients/wishctl/wishctl_labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

/* Copies the str at key k of map m into out[size] ("" when absent). */
static void ctl_labels_str(const msgpack_object *m, const char *k, char *out,
                           size_t size)
{
    const msgpack_object *v = proto_map_get(m, k);
    out[0] = '\0';
    if (v != NULL && v->type == MSGPACK_OBJECT_STR &&
        v->via.str.size < size) {
        memcpy(out, v->via.str.ptr, v->via.str.size);
        out[v->via.str.size] = '\0';
    }
}

void ctl_labels_read(wishclient *c, ctl_labels *l)
{
    const msgpack_object *res;

    if (l->read) return;
    l->read = true;
    if (wc_call(c, "skills", NULL, NULL, &res) != WC_OK ||
        res->type != MSGPACK_OBJECT_ARRAY || res->via.array.size == 0)
        return;
    l->v = calloc(res->via.array.size, sizeof(*l->v));
    if (l->v == NULL) return;
    for (uint32_t i = 0; i < res->via.array.size; i++) {
        ctl_label *e = &l->v[l->n];
        ctl_labels_str(&res->via.array.ptr[i], "code", e->code,
                       sizeof(e->code));
        ctl_labels_str(&res->via.array.ptr[i], "zh", e->zh, sizeof(e->zh));
        if (e->code[0] && e->zh[0]) l->n++;
    }
}

void ctl_labels_clear(ctl_labels *l)
{
    free(l->v);
    *l = (ctl_labels){0};
}

const char *ctl_labels_find(const ctl_labels *l, const char *code, char *buf,
                            size_t size)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].code, code) == 0) {
            snprintf(buf, size, "%s (%s)", l->v[i].zh, code);
            return buf;
        }
    snprintf(buf, size, "%s", code);
    return buf;
}
