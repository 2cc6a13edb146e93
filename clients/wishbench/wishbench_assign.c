/* wishbench_assign.c -- the optimal assignment the quality benchmark
 * compares with; see wishbench.h.
 *
 * Min-cost bipartite assignment with column capacities, by successive
 * shortest paths with Dijkstra on reduced costs (Johnson potentials):
 * the Hungarian method on a sparse graph. One augmentation per row, each
 * O(E log V): about a second for 1 000 rows with 64 candidates each.
 */
#include "clients/wishbench/wishbench.h"

#include <stdlib.h>
#include <string.h>

typedef struct fedge {
    int to, next;
    int cap;
    int64_t cost;
} fedge;

typedef struct fheap {
    int64_t *key;
    int *node;
    int n;
} fheap;

static void wb_heap_push(fheap *h, int64_t key, int node)
{
    int i = h->n++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (h->key[p] <= key) break;
        h->key[i] = h->key[p];
        h->node[i] = h->node[p];
        i = p;
    }
    h->key[i] = key;
    h->node[i] = node;
}

static void wb_heap_pop(fheap *h, int64_t *key, int *node)
{
    *key = h->key[0];
    *node = h->node[0];
    int64_t k = h->key[--h->n];
    int v = h->node[h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->key[c + 1] < h->key[c]) c++;
        if (h->key[c] >= k) break;
        h->key[i] = h->key[c];
        h->node[i] = h->node[c];
        i = c;
    }
    h->key[i] = k;
    h->node[i] = v;
}

int64_t wb_mincost_assign(int nrows, int ncols, const int *cap, int nedges,
                          const int *erow, const int *ecol,
                          const int64_t *ecost, int *out_col)
{
    /* nodes: source 0, rows 1..nrows, cols nrows+1..nrows+ncols, sink */
    int nn = nrows + ncols + 2, src = 0, snk = nn - 1;
    int ne = 2 * (nrows + ncols + nedges);
    fedge *e = calloc((size_t)ne, sizeof(*e));
    int *head = malloc((size_t)nn * sizeof(int));
    int64_t *pot = calloc((size_t)nn, sizeof(int64_t));
    int64_t *dist = malloc((size_t)nn * sizeof(int64_t));
    int *prev = malloc((size_t)nn * sizeof(int));
    fheap h = {malloc((size_t)(ne + nn) * sizeof(int64_t)),
               malloc((size_t)(ne + nn) * sizeof(int)), 0};
    int64_t total = -1;
    if (!e || !head || !pot || !dist || !prev || !h.key || !h.node)
        goto out;
    for (int i = 0; i < nn; i++) head[i] = -1;
    int m = 0;
#define ADD(a, b, c, w)                                                      \
    do {                                                                     \
        e[m] = (fedge){(b), head[(a)], (c), (w)};                            \
        head[(a)] = m++;                                                     \
        e[m] = (fedge){(a), head[(b)], 0, -(w)};                             \
        head[(b)] = m++;                                                     \
    } while (0)
    for (int r = 0; r < nrows; r++) ADD(src, 1 + r, 1, 0);
    for (int c = 0; c < ncols; c++) ADD(1 + nrows + c, snk, cap[c], 0);
    for (int k = 0; k < nedges; k++)
        ADD(1 + erow[k], 1 + nrows + ecol[k], 1, ecost[k]);
#undef ADD
    total = 0;
    for (int it = 0; it < nrows; it++) {
        const int64_t INF = INT64_MAX / 4;
        for (int i = 0; i < nn; i++) dist[i] = INF, prev[i] = -1;
        dist[src] = 0;
        h.n = 0;
        wb_heap_push(&h, 0, src);
        while (h.n > 0) {
            int64_t d;
            int u;
            wb_heap_pop(&h, &d, &u);
            if (d > dist[u]) continue;
            for (int k = head[u]; k >= 0; k = e[k].next) {
                if (e[k].cap <= 0) continue;
                int v = e[k].to;
                int64_t nd = d + e[k].cost + pot[u] - pot[v];
                if (nd < dist[v]) {
                    dist[v] = nd;
                    prev[v] = k;
                    wb_heap_push(&h, nd, v);
                }
            }
        }
        if (dist[snk] >= INF) { /* a row that cannot be placed */
            total = -1;
            goto out;
        }
        for (int i = 0; i < nn; i++)
            if (dist[i] < INF) pot[i] += dist[i];
        for (int v = snk; v != src; v = e[prev[v] ^ 1].to) {
            e[prev[v]].cap--;
            e[prev[v] ^ 1].cap++;
        }
    }
    for (int r = 0; r < nrows; r++) {
        out_col[r] = -1;
        for (int k = head[1 + r]; k >= 0; k = e[k].next) {
            int v = e[k].to;
            if (v > nrows && v < snk && (k & 1) == 0 && e[k].cap == 0) {
                out_col[r] = v - 1 - nrows;
                total += e[k].cost;
                break;
            }
        }
    }
out:
    free(e);
    free(head);
    free(pot);
    free(dist);
    free(prev);
    free(h.key);
    free(h.node);
    return total;
}

static int wb_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double wb_gini(const double *x, size_t n)
{
    if (n == 0) return 0;
    double *s = malloc(n * sizeof(double));
    if (s == NULL) return -1;
    memcpy(s, x, n * sizeof(double));
    qsort(s, n, sizeof(double), wb_dbl_cmp);
    double num = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        num += (double)(2 * (i + 1)) * s[i];
        sum += s[i];
    }
    free(s);
    if (sum == 0) return 0;
    return num / ((double)n * sum) - (double)(n + 1) / (double)n;
}
