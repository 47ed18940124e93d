/* qsort of pseudo-random numbers: function pointers, recursion, memory traffic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void)
{
    enum { N = 2000 };
    static int v[N];
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        v[i] = (int)(x >> 8) % 100000 - 50000;
    }
    qsort(v, N, sizeof v[0], cmp_int);
    long check = 0;
    for (int i = 0; i < N; i++) {
        if (i && v[i - 1] > v[i]) {
            printf("not sorted at %d\n", i);
            return 1;
        }
        check = check * 31 + v[i];
    }
    printf("min=%d max=%d median=%d check=%ld\n", v[0], v[N - 1], v[N / 2], check);

    const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "kiwi", "lime"};
    size_t n = sizeof words / sizeof words[0];
    qsort(words, n, sizeof words[0], cmp_str);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", words[i], i + 1 < n ? " " : "\n");
    int key = v[N / 3];
    int *found = bsearch(&key, v, N, sizeof v[0], cmp_int);
    printf("bsearch %d -> %s\n", key, found && *found == key ? "found" : "missing");
    return 0;
}
