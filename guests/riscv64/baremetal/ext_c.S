/* C extension known answers: compressed arithmetic, loads/stores, jumps. */
#include "test.h"

  .text
  .globl test_main
test_main:
  .option push
  .option rvc
  TEST(2)
  c.li a0, 31
  c.addi a0, -1
  CHECK(a0, 30)
  c.slli a0, 2
  CHECK(a0, 120)
  TEST(3)
  la a1, data
  c.ld a2, 0(a1)
  CHECK(a2, 0x1122334455667788)
  c.lw a3, 8(a1)
  CHECK(a3, -2)
  c.mv a4, a3
  c.add a4, a3
  CHECK(a4, -4)
  TEST(4)
  c.j 1f
  j fail
1:
  la t0, 2f
  c.jalr t0
  j 3f
2:
  c.jr ra
3:
  TEST(5)
  c.li a5, 0
  c.beqz a5, 4f
  j fail
4:
  .option pop
  j pass

  .data
  .align 3
data: .dword 0x1122334455667788
  .word -2
