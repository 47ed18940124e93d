/* F extension known answers: arithmetic, conversions, NaN boxing, flags. */
#include "test.h"

  .text
  .globl test_main
test_main:
  li t0, 1 << 13                /* FS = Initial */
  csrs mstatus, t0
  TEST(2)
  li a0, 0x40400000             /* 3.0 */
  fmv.w.x fa0, a0
  li a0, 0x3f800000             /* 1.0 */
  fmv.w.x fa1, a0
  fadd.s fa2, fa0, fa1
  fmv.x.w a1, fa2
  CHECK(a1, 0x40800000)         /* 4.0 */
  TEST(3)
  fdiv.s fa3, fa1, fa0          /* 1/3: inexact */
  fmv.x.w a1, fa3
  CHECK(a1, 0x3eaaaaab)
  csrr a2, fflags
  CHECK(a2, 1)
  TEST(4)
  fcvt.w.s a1, fa2
  CHECK(a1, 4)
  li a0, -7
  fcvt.s.w fa4, a0
  fmv.x.w a1, fa4               /* sign-extended */
  CHECK(a1, 0xffffffffc0e00000)
  TEST(5)                       /* single values are NaN-boxed in the 64-bit register */
  fmv.x.d a1, fa4
  CHECK(a1, 0xffffffffc0e00000)
  TEST(6)                       /* sqrt(-1): canonical NaN, invalid flag */
  csrwi fflags, 0
  li a0, 0xbf800000
  fmv.w.x fa5, a0
  fsqrt.s fa5, fa5
  fmv.x.w a1, fa5
  CHECK(a1, 0x7fc00000)
  csrr a2, fflags
  CHECK(a2, 0x10)
  TEST(7)
  flt.s a1, fa1, fa0
  CHECK(a1, 1)
  fmadd.s fa6, fa0, fa0, fa1    /* 3*3+1 */
  fmv.x.w a1, fa6
  CHECK(a1, 0x41200000)
  j pass
