/* S mode without paging: medeleg hands U-mode ecalls to S, sret returns to U, S cannot
   touch M CSRs, sstatus is a view of mstatus, satp is read-only zero and sfence.vma is
   illegal (bare S, as riscv-tests' rv64mi-p-illegal expects); a software interrupt
   delegated with mideleg is taken in S. */
#include "test.h"

#define MSTATUS_SPP (1 << 8)

  .text
  .globl test_main
test_main:
  la t0, m_handler
  csrw mtvec, t0
  la t0, s_handler
  csrw stvec, t0
  li t0, 1 << 8
  csrw medeleg, t0

  TEST(2)                       /* mret to S */
  MRET_TO_S(s_code)
  li s8, 0
  mret

s_code:
  TEST(3)                       /* S reads mstatus: illegal, handled in M */
  csrr t0, mstatus
  CHECK(s8, 1)
  csrr t0, sstatus              /* sstatus is fine; SPP = 1 is not visible after mret */
  TEST(4)                       /* satp reads 0 and ignores writes; sfence.vma is illegal */
  li t0, 8 << 60
  csrw satp, t0
  csrr t0, satp
  CHECK(t0, 0)
  sfence.vma
  CHECK(s8, 2)

  TEST(5)                       /* sret to U; the U ecall is delegated to S */
  li t0, MSTATUS_SPP
  csrc sstatus, t0
  la t0, u_code
  csrw sepc, t0
  sret

u_code:
  ecall
  j fail

  .align 2
s_handler:
  TEST(6)
  csrr t0, scause
  CHECK(t0, 8)
  csrr t0, sepc
  la t1, u_code
  CHECK_REG(t0, t1)
  csrr t0, sstatus              /* SPP = U */
  andi t0, t0, MSTATUS_SPP
  CHECK(t0, 0)
  TEST(7)                       /* ecall from S is not delegated: M sees cause 9 */
  ecall
  j fail

  .align 2
m_handler:
  csrr t5, mcause
  li t6, 9
  beq t5, t6, s_ecall
  li t6, 2
  bne t5, t6, fail
  addi s8, s8, 1
  csrr t5, mepc
  addi t5, t5, 4
  csrw mepc, t5
  mret
s_ecall:
  csrr t5, mstatus              /* MPP = S */
  srli t5, t5, 11
  andi t5, t5, 3
  CHECK(t5, 1)
  bnez s9, pass                 /* second visit: the S interrupt test is done */

  TEST(8)                       /* a delegated SSIP is taken in S with SIE set */
  li s9, 1
  li t0, 1 << 1
  csrw mideleg, t0
  csrw mie, t0
  la t0, s_irq_code
  csrw mepc, t0
  mret                          /* MPP is still S */

s_irq_code:
  la t0, s_irq_handler
  csrw stvec, t0
  csrsi sstatus, 1 << 1         /* SIE */
  csrsi sip, 1 << 1             /* SSIP: pending at once */
  j fail

  .align 2
s_irq_handler:
  TEST(9)
  csrr t0, scause
  li t1, INTERRUPT_BIT | 1
  CHECK_REG(t0, t1)
  csrr t0, sstatus              /* SPP = S, SPIE = 1, SIE = 0 */
  andi t0, t0, (1 << 8) | (1 << 5) | (1 << 1)
  CHECK(t0, (1 << 8) | (1 << 5))
  csrci sip, 1 << 1
  csrr t0, sip
  CHECK(t0, 0)
  ecall
