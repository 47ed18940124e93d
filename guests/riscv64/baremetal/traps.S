/* Synchronous traps in M mode: mcause, mepc and mtval for ecall, ebreak (mtval = pc, as
   Spike), illegal instructions (mtval = the instruction bits), access faults on load, store
   and fetch (mtval = the address), and mret back to a handler-chosen pc. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la t0, handler
  csrw mtvec, t0

  TEST(2)                       /* ecall from M */
  la s1, 1f
1: ecall
  CHECK(s2, 11)
  CHECK_REG(s3, s1)
  CHECK(s4, 0)

  TEST(3)                       /* ebreak: cause 3, mtval = pc */
  la s1, 1f
1: ebreak
  CHECK(s2, 3)
  CHECK_REG(s3, s1)
  CHECK_REG(s4, s1)

  TEST(4)                       /* custom-0 opcode: illegal, mtval = the bits */
  la s1, 1f
1: .word 0x0000500b
  CHECK(s2, 2)
  CHECK_REG(s3, s1)
  CHECK(s4, 0x500b)

  TEST(12)                      /* 16-bit all-zero word: illegal, mtval = the 16 bits */
  la s1, 1f
1: .half 0
  CHECK(s2, 2)
  CHECK_REG(s3, s1)
  CHECK(s4, 0)

  TEST(5)                       /* csrr of a CSR that does not exist: mtval = bits */
  la s1, 1f
1: csrr a1, 0x7c0
  CHECK(s2, 2)
  CHECK_REG(s3, s1)
  lwu t0, 0(s1)
  CHECK_REG(s4, t0)

  TEST(6)                       /* write to a read-only CSR (bits 11:10 == 3) */
  la s1, 1f
1: csrw mvendorid, zero
  CHECK(s2, 2)
  CHECK_REG(s3, s1)

  TEST(7)                       /* load access fault: mtval = address */
  li s5, 0x1000
  la s1, 1f
1: ld a1, 0(s5)
  CHECK(s2, 5)
  CHECK_REG(s3, s1)
  CHECK_REG(s4, s5)

  TEST(8)                       /* store access fault */
  la s1, 1f
1: sw a1, 8(s5)
  CHECK(s2, 7)
  CHECK_REG(s3, s1)
  addi t0, s5, 8
  CHECK_REG(s4, t0)

  TEST(9)                       /* fetch access fault: mepc = mtval = target */
  la ra, 1f
  jalr zero, 0(s5)
1:
  CHECK(s2, 1)
  CHECK_REG(s3, s5)
  CHECK_REG(s4, s5)

  TEST(10)                      /* trap entry: MPP = M, MPIE = old MIE (0), MIE = 0 */
  li t1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE
  and t0, s6, t1
  CHECK(t0, MSTATUS_MPP)
  csrr t0, mstatus              /* after mret: MPP = U, MPIE = 1 */
  and t0, t0, t1
  CHECK(t0, MSTATUS_MPIE)

  TEST(11)                      /* a store then a load in the same block survive a trap */
  la s7, scratch
  li s8, 0x1234
  sd s8, 0(s7)
  ecall
  ld s8, 0(s7)
  CHECK(s8, 0x1234)
  j pass

  /* record mstatus/mcause/mepc/mtval in s6/s2/s3/s4 (clobbers t0-t2) and resume after the instruction, or at ra for a
     fetch fault */
  .align 2
handler:
  csrr s6, mstatus
  csrr s2, mcause
  csrr s3, mepc
  csrr s4, mtval
  li t0, 1
  beq s2, t0, 2f
  lhu t0, 0(s3)
  andi t0, t0, 3
  li t1, 3
  addi t2, s3, 2
  bne t0, t1, 1f
  addi t2, s3, 4
1:
  csrw mepc, t2
  mret
2:
  csrw mepc, ra
  mret

  .data
scratch: .dword 0
