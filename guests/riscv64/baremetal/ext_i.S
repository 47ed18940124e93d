/* RV64I known answers: arithmetic, shifts, compares, loads/stores with sign extension,
   word ops, jumps with the link register. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)
  li a1, 0x7fffffffffffffff
  addi a2, a1, 1
  CHECK(a2, 0x8000000000000000)
  TEST(3)
  li a1, -8
  srai a2, a1, 1
  CHECK(a2, -4)
  srli a2, a1, 60
  CHECK(a2, 0xf)
  TEST(4)
  li a1, 0x80000000
  addiw a2, a1, 0
  CHECK(a2, 0xffffffff80000000)
  sllw a3, a1, zero
  CHECK(a3, 0xffffffff80000000)
  TEST(5)
  li a1, -1
  li a2, 1
  slt a3, a1, a2
  CHECK(a3, 1)
  sltu a3, a1, a2
  CHECK(a3, 0)
  TEST(6)
  la a0, data
  lb a1, 0(a0)
  CHECK(a1, -1)
  lbu a1, 0(a0)
  CHECK(a1, 0xff)
  lh a1, 0(a0)
  CHECK(a1, 0xffffffffffff80ff)
  lwu a1, 0(a0)
  CHECK(a1, 0x123480ff)
  TEST(7)
  li a1, 0x1122334455667788
  sd a1, 8(a0)
  sb zero, 8(a0)
  ld a2, 8(a0)
  CHECK(a2, 0x1122334455667700)
  TEST(8)
  jal ra, 1f
  j fail
1: la t0, 1b - 4
  CHECK_REG(ra, t0)
  TEST(9)
  lui a1, 0xfffff
  CHECK(a1, 0xfffffffffffff000)
  auipc a2, 0
  la t0, 9f
9:
  auipc a3, 0
  CHECK_REG(a3, t0)
  j pass

  .data
  .align 3
data: .word 0x123480ff, 0
  .dword 0
