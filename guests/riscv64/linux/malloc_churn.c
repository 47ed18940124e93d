/* malloc/realloc/free churn: brk growth, mmap'd large chunks, heap consistency. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    enum { SLOTS = 256, ROUNDS = 3000 };
    static unsigned char *slot[SLOTS];
    static size_t size[SLOTS];
    unsigned x = 777;
    unsigned long total = 0, big = 0;
    for (int r = 0; r < ROUNDS; r++) {
        x = x * 1664525u + 1013904223u;
        int i = (x >> 10) % SLOTS;
        size_t n = (x >> 20) % 700 + 1;
        if ((x & 0xff) == 7)
            n = 200000 + (x >> 16) % 100000; /* above the mmap threshold */
        if (slot[i]) {
            for (size_t k = 0; k < size[i]; k++) {
                if (slot[i][k] != (unsigned char)(i + k)) {
                    printf("corrupt slot %d at %zu\n", i, k);
                    return 1;
                }
            }
            if (x & 0x100) {
                free(slot[i]);
                slot[i] = NULL;
                continue;
            }
            unsigned char *p = realloc(slot[i], n);
            if (!p)
                return 2;
            slot[i] = p;
        } else {
            slot[i] = malloc(n);
            if (!slot[i])
                return 3;
        }
        size[i] = n;
        for (size_t k = 0; k < n; k++)
            slot[i][k] = (unsigned char)(i + k);
        total += n;
        big += n >= 200000;
    }
    for (int i = 0; i < SLOTS; i++)
        free(slot[i]);
    void *c = calloc(1000, 1000);
    unsigned long zero = 0;
    for (int k = 0; k < 1000000; k++)
        zero += ((unsigned char *)c)[k];
    free(c);
    printf("total=%lu big=%lu calloc-sum=%lu\n", total, big, zero);
    return 0;
}
