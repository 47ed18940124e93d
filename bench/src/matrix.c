/* Integer and double matrix multiply with a checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 48

static int32_t a[N][N], b[N][N], c[N][N];
static double fa[N][N], fb[N][N], fc[N][N];

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int64_t sum = 0;
    double fsum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (i * 7 + j * 3) % 17 - 8;
            b[i][j] = (i * 5 + j * 11) % 13 - 6;
            fa[i][j] = (i + 1) / (double)(j + 2);
            fb[i][j] = (j - i) * 0.25;
        }
    for (int r = 0; r < scale; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int32_t s = 0;
                double fs = 0;
                for (int k = 0; k < N; k++) {
                    s += a[i][k] * b[k][j];
                    fs += fa[i][k] * fb[k][j];
                }
                c[i][j] = s + r;
                fc[i][j] = fs;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) { sum += c[i][j] * (i ^ j); fsum += fc[i][j]; }
    }
    printf("matrix %lld %.6f\n", (long long)sum, fsum);
    return 0;
}
