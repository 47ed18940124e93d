/* Timer interrupt through the CLINT: wfi waits until mtime reaches mtimecmp, the interrupt
   is taken with mcause = MTI and mepc = the instruction after the wfi; writing mtimecmp
   clears MTIP. Then a software interrupt through msip. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la t0, handler
  csrw mtvec, t0

  TEST(2)                       /* nothing pending at reset */
  csrr t0, mip
  CHECK(t0, 0)

  TEST(3)                       /* mtimecmp in the future: MTIP clear; wfi then interrupt */
  li s0, CLINT_MTIMECMP
  li s1, CLINT_MTIME
  ld t0, 0(s1)
  addi s5, t0, 200
  sd s5, 0(s0)
  csrr t1, mip
  CHECK(t1, 0)
  li t0, MIP_MTIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_MIE
  li s2, 0
1: wfi
after_wfi:
  beqz s2, 1b
  CHECK(s2, 1)
  li t0, INTERRUPT_BIT | 7
  CHECK_REG(s3, t0)
  la t0, after_wfi
  CHECK_REG(s4, t0)
  ld t1, 0(s1)                  /* mtime really reached the old mtimecmp */
  bltu t1, s5, fail

  TEST(4)                       /* the handler moved mtimecmp to -1: MTIP is clear */
  csrr t0, mip
  andi t0, t0, MIP_MTIP
  CHECK(t0, 0)

  TEST(5)                       /* interrupts stay pending while mstatus.MIE is clear */
  csrci mstatus, MSTATUS_MIE
  ld t0, 0(s1)
  sd t0, 0(s0)                  /* mtimecmp = now: pending at once */
  csrr t0, mip
  andi t0, t0, MIP_MTIP
  CHECK(t0, MIP_MTIP)
  wfi                           /* wfi returns at once: the interrupt is enabled in mie */
  CHECK(s2, 1)
  csrsi mstatus, MSTATUS_MIE
  nop
  CHECK(s2, 2)

  TEST(6)                       /* machine software interrupt via msip */
  li t0, MIP_MSIP
  csrw mie, t0
  li t1, CLINT_MSIP
  li t0, 1
  sw t0, 0(t1)
  li t2, 0
2: addi t2, t2, 1               /* taken within a bounded number of instructions */
  li t3, 100000
  bge t2, t3, fail
  li t0, 3
  bne s2, t0, 2b
  li t0, INTERRUPT_BIT | 3
  CHECK_REG(s3, t0)
  lw t0, 0(t1)
  CHECK(t0, 0)
  j pass

  /* count interrupts in s2, record mcause/mepc in s3/s4, silence the source */
  .align 2
handler:
  csrr s3, mcause
  csrr s4, mepc
  bgez s3, fail
  addi s2, s2, 1
  li t5, INTERRUPT_BIT | 7
  bne s3, t5, 1f
  li t5, CLINT_MTIMECMP
  li t6, -1
  sd t6, 0(t5)
  mret
1:
  li t5, CLINT_MSIP
  sw zero, 0(t5)
  mret
