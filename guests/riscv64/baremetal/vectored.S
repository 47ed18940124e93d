/* Vectored mtvec: interrupts jump to base + 4 * cause, exceptions to base. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la t0, vectors
  ori t0, t0, 1
  csrw mtvec, t0

  TEST(2)                       /* an exception goes to the base entry */
  li s2, 0
  ecall
  CHECK(s2, 100)

  TEST(3)                       /* machine software interrupt: entry 3 */
  li s2, 0
  li t0, MIP_MSIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_MIE
  li t1, CLINT_MSIP
  li t0, 1
  sw t0, 0(t1)
1: beqz s2, 1b
  CHECK(s2, 103)
  li s2, 0

  TEST(4)                       /* machine timer interrupt: entry 7 */
  li t0, MIP_MTIP
  csrw mie, t0
  li t0, CLINT_MTIME
  ld t0, 0(t0)
  li t1, CLINT_MTIMECMP
  addi t0, t0, 10
  sd t0, 0(t1)
1: beqz s2, 1b
  CHECK(s2, 107)
  j pass

  .align 6
vectors:
  j exc
  j fail
  j fail
  j msi
  j fail
  j fail
  j fail
  j mti
  j fail
  j fail
  j fail
  j fail

exc:
  csrr t5, mcause
  li t6, 11
  bne t5, t6, fail
  li s2, 100
  csrr t5, mepc
  addi t5, t5, 4
  csrw mepc, t5
  mret
msi:
  csrr t5, mcause
  li t6, INTERRUPT_BIT | 3
  bne t5, t6, fail
  li s2, 103
  li t5, CLINT_MSIP
  sw zero, 0(t5)
  mret
mti:
  csrr t5, mcause
  li t6, INTERRUPT_BIT | 7
  bne t5, t6, fail
  li s2, 107
  li t5, CLINT_MTIMECMP
  li t6, -1
  sd t6, 0(t5)
  mret
