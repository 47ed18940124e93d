#include <stdio.h>
#include <stdlib.h>
static unsigned arr[1024];
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000;
    unsigned long h = 1469598103934665603UL;
    for (int i = 0; i < 1024; i++) arr[i] = i * 2654435761u;
    for (long r = 0; r < n; r++) {
        for (int i = 0; i < 1024; i++) {
            h = (h ^ arr[i]) * 1099511628211UL;
            arr[i] += (unsigned)h >> 7;
        }
    }
    printf("%lx\n", h);
    return 0;
}
