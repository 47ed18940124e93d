/* Floating point: a Mandelbrot tile, a Horner polynomial and an n-body step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    long iters = 0;
    double poly = 0, energy = 0;
    for (int r = 0; r < scale; r++) {
        for (int py = 0; py < 24; py++)
            for (int px = 0; px < 32; px++) {
                double cx = -2.0 + px * (2.5 / 32), cy = -1.0 + py * (2.0 / 24);
                double zx = 0, zy = 0;
                int k = 0;
                while (k < 64 && zx * zx + zy * zy < 4.0) {
                    double t = zx * zx - zy * zy + cx;
                    zy = 2 * zx * zy + cy;
                    zx = t;
                    k++;
                }
                iters += k;
            }
        for (int i = 0; i < 2000; i++) {
            double x = i / 2000.0, y = 0;
            for (int c = 10; c >= 0; c--) y = y * x + 1.0 / (c + 1);
            poly += y;
        }
        double p[4][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, v[4][3] = {{0}};
        for (int step = 0; step < 100; step++) {
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    if (i == j) continue;
                    double d[3], r2 = 0.01;
                    for (int k = 0; k < 3; k++) { d[k] = p[j][k] - p[i][k]; r2 += d[k] * d[k]; }
                    double inv = 1.0 / (r2 * sqrt(r2));
                    for (int k = 0; k < 3; k++) v[i][k] += 0.001 * d[k] * inv;
                }
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 3; k++) p[i][k] += 0.001 * v[i][k];
        }
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 3; k++) energy += v[i][k] * v[i][k];
    }
    printf("fp %ld %.9f %.9f\n", iters, poly, energy);
    return 0;
}
