/* printf of doubles: exercises the FPU, soft conversions in glibc, and rounding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    static const double values[] = {
        0.0, -0.0, 1.0, -1.5, 3.14159265358979323846, 2.718281828459045, 1e-300, 1e300,
        123456789.125, 0.1, 1.0 / 3.0, 6.02214076e23, -7.25e-5, 65536.0, 0.5,
    };
    double sum = 0.0;
    for (unsigned i = 0; i < sizeof values / sizeof values[0]; i++) {
        double v = values[i];
        printf("%u: %f | %.3e | %g | %.17g | %a\n", i, v, v, v, v, v);
        sum += v * (i + 1);
    }
    printf("sum=%.10g sqrt2=%.15f\n", sum, sqrt(2.0));
    printf("floor=%g ceil=%g fmod=%g\n", floor(-2.5), ceil(-2.5), fmod(10.0, 3.0));
    printf("strtod=%.12g %.12g\n", strtod("1.2345e2", NULL), strtod("-0.000314", NULL));
    float f = 1.0f / 7.0f;
    printf("float=%.9g int=%d long=%ld\n", f, (int)(f * 1000000), (long)(1e12 / 7));
    printf("inf=%f nan=%f\n", INFINITY, NAN);
    return 0;
}
