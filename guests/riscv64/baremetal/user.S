/* U mode: mret to U (MPP = U, MPRV cleared), ecall from U (cause 8), U-mode access to M
   CSRs and to counters gated by mcounteren, mret and wfi illegal in U, back to M. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la t0, handler
  csrw mtvec, t0

  TEST(2)                       /* mret to U: MPRV cleared, ecall from U is cause 8 */
  li t0, MSTATUS_MPRV
  csrs mstatus, t0
  csrw mcounteren, zero
  GOTO_USER(user1)
user1:
  ecall
back1:
  CHECK(s2, 8)
  csrr t0, mstatus
  li t1, MSTATUS_MPRV
  and t1, t0, t1
  CHECK(t1, 0)
  li t1, MSTATUS_MPP            /* the trap from U recorded MPP = U */
  and t1, t0, t1
  CHECK(t1, 0)

  TEST(3)                       /* U reads mstatus: illegal, mtval = the csrr */
  GOTO_USER(user3)
user3:
  la s1, 1f
1: csrr a1, mstatus
  ecall
back3:
  CHECK(s5, 2)                  /* first trap was the illegal instruction */
  CHECK_REG(s6, s1)
  lwu t0, 0(s1)
  CHECK_REG(s7, t0)

  TEST(4)                       /* rdcycle/rdtime/rdinstret with mcounteren = 0 */
  li s8, 0
  GOTO_USER(user4)
user4:
  rdcycle a1
  rdtime a1
  rdinstret a1
  ecall
back4:
  CHECK(s8, 3)                  /* three illegal instructions */

  TEST(5)                       /* with mcounteren CY|TM|IR and scounteren: no traps */
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, t0
  li s8, 0
  GOTO_USER(user5)
user5:
  rdcycle a1
  rdinstret a2
  rdtime a3
  rdinstret a4
  ecall
back5:
  CHECK(s8, 0)
  sub t0, a4, a2
  CHECK(t0, 2)                  /* exactly the two instructions in between */

  TEST(6)                       /* only the IR bit: cycle traps, instret does not */
  li t0, 4
  csrw mcounteren, t0
  li s8, 0
  GOTO_USER(user6)
user6:
  rdinstret a1
  rdcycle a1
  ecall
back6:
  CHECK(s8, 1)

  TEST(7)                       /* mret and wfi are illegal in U; U cannot touch mscratch */
  li s8, 0
  GOTO_USER(user7)
user7:
  mret
  wfi
  csrw mscratch, zero
  sret
  ecall
back7:
  CHECK(s8, 4)
  j pass

  /* illegal instructions: count in s8, remember the first (cause/epc/tval in s5/s6/s7),
     skip; ecall from U: return to M at the back<N> label after the ecall */
  .align 2
handler:
  csrr s2, mcause
  li t0, 8
  beq s2, t0, 2f
  li t0, 2
  bne s2, t0, fail
  bnez s8, 1f
  mv s5, s2
  csrr s6, mepc
  csrr s7, mtval
1:
  addi s8, s8, 1
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret
2:
  csrr t0, mepc                 /* back in M: the ecall is followed by its back label */
  addi t0, t0, 4
  li t1, MSTATUS_MPP
  csrs mstatus, t1
  csrw mepc, t0
  mret
