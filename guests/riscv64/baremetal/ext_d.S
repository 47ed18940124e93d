/* D extension known answers: arithmetic, conversions, rounding modes. */
#include "test.h"

  .text
  .globl test_main
test_main:
  li t0, 1 << 13
  csrs mstatus, t0
  TEST(2)
  li a0, 0x4008000000000000     /* 3.0 */
  fmv.d.x fa0, a0
  li a0, 0x3ff0000000000000     /* 1.0 */
  fmv.d.x fa1, a0
  fsub.d fa2, fa0, fa1
  fmv.x.d a1, fa2
  CHECK(a1, 0x4000000000000000)
  TEST(3)
  fdiv.d fa3, fa1, fa0
  fmv.x.d a1, fa3
  CHECK(a1, 0x3fd5555555555555)
  TEST(4)                       /* 2.5 -> 2 (RNE), 3 (RUP) */
  li a0, 0x4004000000000000
  fmv.d.x fa4, a0
  fcvt.l.d a1, fa4, rne
  CHECK(a1, 2)
  fcvt.l.d a1, fa4, rup
  CHECK(a1, 3)
  TEST(5)
  fcvt.s.d fa5, fa0
  fmv.x.w a1, fa5
  CHECK(a1, 0x40400000)
  fcvt.d.s fa6, fa5
  feq.d a1, fa6, fa0
  CHECK(a1, 1)
  TEST(6)                       /* fclass of -inf */
  li a0, 0xfff0000000000000
  fmv.d.x fa7, a0
  fclass.d a1, fa7
  CHECK(a1, 1)
  TEST(7)                       /* memory round trip */
  la a2, slot
  fsd fa3, 0(a2)
  ld a1, 0(a2)
  CHECK(a1, 0x3fd5555555555555)
  fld fa0, 0(a2)
  feq.d a1, fa0, fa3
  CHECK(a1, 1)
  j pass

  .data
  .align 3
slot: .dword 0
