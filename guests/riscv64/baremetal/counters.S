/* Counters: writes to minstret/mcycle take effect (and suppress their own increment, as
   Spike), instret counts exactly, mcountinhibit stops minstret, time follows the CLINT. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)                       /* the value written is what the next instruction reads */
  li t0, 1000
  csrw minstret, t0
  csrr t1, minstret
  CHECK(t1, 1000)

  TEST(3)                       /* exact count across straight-line code and a branch */
  csrr t1, minstret
  nop
  nop
  beqz zero, 1f
1: nop
  csrr t2, minstret
  sub t2, t2, t1
  CHECK(t2, 5)

  TEST(4)                       /* mcycle is writable and moves forward */
  li t0, 1 << 40
  csrw mcycle, t0
  csrr t1, mcycle
  blt t1, t0, fail
  csrr t2, cycle
  blt t2, t1, fail

  TEST(5)                       /* minstret stops while mcountinhibit.IR is set */
  csrwi CSR_MCOUNTINHIBIT, 4
  csrr t1, minstret
  nop
  nop
  csrr t2, minstret
  CHECK_REG(t2, t1)
  li t0, 77
  csrw minstret, t0
  csrr t1, minstret
  CHECK(t1, 77)
  csrwi CSR_MCOUNTINHIBIT, 0
  csrr t1, minstret
  nop
  csrr t2, minstret
  sub t2, t2, t1
  CHECK(t2, 2)

  TEST(6)                       /* a write to instret wraps at 64 bits */
  li t0, -1
  csrw minstret, t0
  csrr t1, minstret
  csrr t2, minstret
  CHECK(t1, -1)
  CHECK(t2, 0)

  TEST(7)                       /* time is the CLINT's mtime, which is writable */
  li t0, CLINT_MTIME
  li t1, 5000000
  sd t1, 0(t0)
  rdtime t2
  blt t2, t1, fail
  sub t2, t2, t1
  li t3, 1000
  bge t2, t3, fail
  ld t3, 0(t0)
  blt t3, t1, fail
  j pass
