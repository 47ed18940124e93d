/* Atomics in a hot loop: AMOs (fetch-add, exchange, and, or, min, max) and LR/SC loops
 * (compare-exchange), 32 and 64 bits, with malloc and free (glibc takes its arena lock
 * with them too). Prints a checksum of everything. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t w;
static uint64_t d;
static int32_t lo = 1 << 30;
static int64_t hi = -(1L << 40);

/* GCC has no builtin for these AMOs */
static int32_t amomin_w(int32_t *p, int32_t v) {
    int32_t old;
    __asm__ volatile("amomin.w %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
    return old;
}

static int64_t amomax_d(int64_t *p, int64_t v) {
    int64_t old;
    __asm__ volatile("amomax.d %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
    return old;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000;
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        sum += __atomic_fetch_add(&w, (uint32_t)i * 3u, __ATOMIC_SEQ_CST);
        sum ^= __atomic_exchange_n(&d, d * 6364136223846793005UL + i, __ATOMIC_ACQ_REL);
        __atomic_fetch_and(&w, 0xFFFFF0FFu, __ATOMIC_RELAXED);
        __atomic_fetch_or(&d, (uint64_t)i << 13, __ATOMIC_RELAXED);
        sum += (uint32_t)amomin_w(&lo, (int32_t)(i * 7919 % 100003) - 50000);
        sum += (uint64_t)amomax_d(&hi, (int64_t)i * -977 + (i & 1) * (1L << 41));
        uint32_t want = w;
        while (!__atomic_compare_exchange_n(&w, &want, want + 1, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST)) {
        }
        uint64_t old = d;
        __atomic_compare_exchange_n(&d, &old, old ^ 0x5555, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        if (i % 64 == 0) {
            char *p = malloc(32 + i % 200);
            p[0] = (char)i;
            sum += (unsigned char)p[0];
            free(p);
        }
    }
    printf("%08x %016lx %d %ld %016lx\n", w, (unsigned long)d, lo, (long)hi, (unsigned long)sum);
    return 0;
}
