/* A extension known answers: AMOs return the old value, LR/SC succeeds once. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la a0, word
  TEST(2)
  li a1, 5
  amoadd.d a2, a1, (a0)
  CHECK(a2, 10)
  ld a3, 0(a0)
  CHECK(a3, 15)
  TEST(3)
  li a1, -1
  amomax.d a2, a1, (a0)
  CHECK(a2, 15)
  amomaxu.d a2, a1, (a0)
  CHECK(a2, 15)
  ld a3, 0(a0)
  CHECK(a3, -1)
  TEST(4)
  li a1, 0x7
  amoswap.w a2, a1, (a0)
  CHECK(a2, -1)
  lw a3, 0(a0)
  CHECK(a3, 7)
  TEST(5)
  lr.d a2, (a0)
  addi a2, a2, 1
  sc.d a3, a2, (a0)
  CHECK(a3, 0)
  sc.d a3, a2, (a0)             /* the reservation is gone */
  bnez a3, 1f
  j fail
1:
  ld a2, 0(a0)
  CHECK(a2, 0xffffffff00000008)
  j pass

  .data
  .align 3
word: .dword 10
