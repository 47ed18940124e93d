/* Sorting: quicksort, merge sort and qsort() agree on pseudo-random arrays. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quick(int32_t *v, int lo, int hi) {
    while (lo < hi) {
        int32_t p = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { int32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quick(v, lo, j); lo = i; } else { quick(v, i, hi); hi = j; }
    }
}

static void merge(int32_t *v, int32_t *tmp, int n) {
    if (n < 2) return;
    int h = n / 2;
    merge(v, tmp, h);
    merge(v + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int n = 2000;
    int32_t *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4), *t = malloc(n * 4);
    uint32_t x = 1, acc = 0;
    for (int r = 0; r < 2 * scale; r++) {
        for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = b[i] = c[i] = (int32_t)x; }
        quick(a, 0, n - 1);
        merge(b, t, n);
        qsort(c, n, 4, cmp);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i] || a[i] != c[i]) { printf("mismatch at %d\n", i); return 1; }
            acc = acc * 31 + (uint32_t)a[i];
        }
    }
    printf("sort %08x\n", acc);
    return 0;
}
