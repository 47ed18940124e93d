"""A real program's floating point (glibc's libm, printf, fenv) on vmcore against QEMU.

A static glibc program runs every rounding mode over a grid of special doubles and floats
(arithmetic, fma, min/max, comparisons, conversions both ways, sqrt, lrint) and hashes the
result bits and the accrued flags; vmcore's Linux user mode must print what qemu-riscv64
prints.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from vmcore.linux_user import run_program
from vmcore.testing import guests

SOURCE = r"""
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint64_t DBITS[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x0000000000000001ull, 0x0010000000000000ull,
    0x7fefffffffffffffull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0x4008000000000000ull,
    0x3fd5555555555555ull, 0x41e0000000000000ull, 0xc3e0000000000000ull, 0x4004000000000000ull,
    0xc004000000000000ull, 0x3ca0000000000000ull, 0x47efffffe0000000ull, 0x380fffffe0000000ull,
};
#define N (sizeof DBITS / sizeof DBITS[0])
static const int MODES[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};

static uint64_t h = 1469598103934665603ull;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ull; }
static uint64_t db(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fb(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static double bd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static void flags(void) { mix(fetestexcept(FE_ALL_EXCEPT)); feclearexcept(FE_ALL_EXCEPT); }

int main(void) {
    volatile double a, b, c;
    volatile float fa, fb_, fc;
    for (unsigned m = 0; m < 4; m++) {
        fesetround(MODES[m]);
        for (unsigned i = 0; i < N; i++) {
            for (unsigned j = 0; j < N; j++) {
                a = bd(DBITS[i]); b = bd(DBITS[j]); c = bd(DBITS[(i + j) % N]);
                mix(db(a + b)); flags(); mix(db(a - b)); flags();
                mix(db(a * b)); flags(); mix(db(a / b)); flags();
                mix(db(fma(a, b, c))); flags(); mix(db(fma(a, b, -c))); flags();
                mix(db(fmin(a, b))); flags(); mix(db(fmax(a, b))); flags();
                mix(a < b); flags(); mix(a <= b); flags(); mix(a == b); flags();
                fa = (float)a; flags(); fb_ = (float)b; flags(); fc = (float)c; flags();
                mix(fb(fa + fb_)); flags(); mix(fb(fa * fb_)); flags(); mix(fb(fa / fb_)); flags();
                mix(fb(fmaf(fa, fb_, fc))); flags(); mix(fb(fminf(fa, fb_))); flags();
                mix(db((double)fa)); flags();
            }
            a = bd(DBITS[i]);
            mix(db(sqrt(a))); flags(); mix(fb(sqrtf((float)a))); flags();
            mix((uint64_t)(int64_t)lrint(a)); flags(); mix((uint64_t)llrint(a)); flags();
            mix((uint64_t)(int32_t)a); flags(); mix((uint64_t)(uint32_t)a); flags();
            mix((uint64_t)(int64_t)a); flags(); mix((uint64_t)a); flags();
            mix(fb((float)(int64_t)DBITS[i])); flags(); mix(db((double)DBITS[i])); flags();
            mix(db((double)(int32_t)DBITS[i])); flags();
            mix(fb((float)(uint32_t)DBITS[i])); flags();
            mix(db(copysign(a, -1.0))); mix(db(fabs(a))); mix((uint64_t)fpclassify(a));
        }
        printf("mode %u: %016llx\n", m, (unsigned long long)h);
    }
    printf("%.17g %.9g %a\n", 1.0 / 3.0, (double)(1.0f / 3.0f), sqrt(2.0));
    return 0;
}
"""


@pytest.mark.skipif(
    not (shutil.which("riscv64-linux-gnu-gcc") and shutil.which("qemu-riscv64")),
    reason="needs riscv64-linux-gnu-gcc and qemu-riscv64",
)
def test_fp_program_matches_qemu(tmp_path):
    source = tmp_path / "fp_mix.c"
    source.write_text(SOURCE)
    libm = subprocess.run(
        ["riscv64-linux-gnu-gcc", "-print-file-name=libm.a"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    binary = guests.build(source, extra_sources=[libm])
    want = guests.run_qemu(binary)
    assert want.status == 0 and want.stdout.count(b"mode") == 4
    out, err = io.BytesIO(), io.BytesIO()
    status = run_program([str(binary)], stdout=out, stderr=err)
    assert (status, out.getvalue()) == (0, want.stdout), err.getvalue()
