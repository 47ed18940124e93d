/* The CSR file: misa, WARL fields of mstatus and mtvec, read-only and absent registers,
   the FS gate of the FP CSRs, hpm counters reading zero, PMP storage, mhartid. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)                       /* misa: MXL = 2 and the letters IMAFDCSU */
  csrr t0, misa
  srli t1, t0, 62
  CHECK(t1, 2)
  li t1, (1 << 26) - 1
  and t0, t0, t1
  CHECK(t0, 0x14112d)           /* A C D F I M S U */

  TEST(3)                       /* mhartid, mvendorid, mconfigptr */
  csrr t0, mhartid
  CHECK(t0, 0)
  csrr t0, mvendorid
  CHECK(t0, 0)
  csrr t0, CSR_MCONFIGPTR
  CHECK(t0, 0)

  TEST(4)                       /* mscratch holds anything */
  li t1, 0x0123456789abcdef
  csrw mscratch, t1
  csrr t0, mscratch
  CHECK_REG(t0, t1)
  csrrw t2, mscratch, zero
  CHECK_REG(t2, t1)
  csrr t0, mscratch
  CHECK(t0, 0)

  TEST(5)                       /* mstatus.MPP is WARL: 2 (reserved) reads as U */
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, 2 << 11
  csrs mstatus, t0
  csrr t0, mstatus
  li t1, MSTATUS_MPP
  and t0, t0, t1
  CHECK(t0, 0)
  li t0, 1 << 11                /* S is supported */
  csrs mstatus, t0
  csrr t0, mstatus
  and t0, t0, t1
  CHECK(t0, 1 << 11)

  TEST(6)                       /* mstatus.UXL = SXL = 2, read only */
  csrr t0, mstatus
  srli t0, t0, 32
  andi t0, t0, 0xf
  CHECK(t0, 0xa)
  li t1, 0xf << 32
  csrc mstatus, t1
  csrr t0, mstatus
  srli t0, t0, 32
  andi t0, t0, 0xf
  CHECK(t0, 0xa)

  TEST(7)                       /* mtvec: mode 2 is reserved, bit 1 reads zero */
  csrr s0, mtvec
  la t0, handler
  ori t1, t0, 2
  csrw mtvec, t1
  csrr t2, mtvec
  CHECK_REG(t2, t0)
  ori t1, t0, 1
  csrw mtvec, t1
  csrr t2, mtvec
  CHECK_REG(t2, t1)
  csrw mtvec, t0

  TEST(8)                       /* mepc bit 0 is always zero */
  li t0, 0x80001233
  csrw mepc, t0
  csrr t1, mepc
  CHECK(t1, 0x80001232)

  TEST(9)                       /* FS = Off: fflags is illegal; on: dirty after a write */
  li t0, MSTATUS_FS
  csrc mstatus, t0
  li s8, 0
  csrr a0, fflags
  CHECK(s8, 1)
  li t0, 1 << 13                /* FS = Initial */
  csrs mstatus, t0
  csrwi fflags, 0x1f
  CHECK(s8, 1)
  csrr t0, fcsr
  CHECK(t0, 0x1f)
  csrwi frm, 3
  csrr t0, fcsr
  CHECK(t0, 0x7f)
  csrr t0, mstatus
  bgez t0, fail                 /* SD set */
  srli t0, t0, 13
  andi t0, t0, 3
  CHECK(t0, 3)

  TEST(10)                      /* hpm counters and events are present and read zero */
  li t0, 55
  csrw mhpmcounter3, t0
  csrr t1, mhpmcounter3
  CHECK(t1, 0)
  csrw mhpmevent31, t0
  csrr t1, mhpmevent31
  CHECK(t1, 0)
  csrr t1, hpmcounter17
  CHECK(t1, 0)

  TEST(11)                      /* pmpaddr/pmpcfg store values; pmpcfg1 does not exist */
  li t0, 0x1234567
  csrw pmpaddr5, t0
  csrr t1, pmpaddr5
  CHECK_REG(t1, t0)
  li t0, 0x1f                   /* NAPOT RWX */
  csrw pmpcfg2, t0
  csrr t1, pmpcfg2
  CHECK(t1, 0x1f)
  li t0, 0x02                   /* W without R is reserved: W dropped */
  csrw pmpcfg0, t0
  csrr t1, pmpcfg0
  CHECK(t1, 0)
  li s8, 0
  csrr t1, pmpcfg1
  CHECK(s8, 1)

  TEST(12)                      /* mie keeps interrupt-enable bits only; mip.MTIP is read-only */
  li t0, -1
  csrw mie, t0
  csrr t1, mie
  CHECK(t1, 0xaaa)
  csrw mie, zero
  li t0, MIP_MTIP | MIP_MSIP
  csrs mip, t0
  csrr t1, mip
  CHECK(t1, 0)

  TEST(13)                      /* medeleg cannot delegate ecall from M */
  li t0, -1
  csrw medeleg, t0
  csrr t1, medeleg
  CHECK(t1, 0xb3ff)
  csrw medeleg, zero

  TEST(14)                      /* reads of read-only CSRs with csrrs x0 are fine */
  csrrs t0, mhartid, zero
  csrrsi t0, mimpid, 0
  CHECK(s8, 1)
  j pass

  .align 2
handler:                        /* illegal instructions: count in s8 and skip */
  csrr t5, mcause
  li t6, 2
  bne t5, t6, fail
  addi s8, s8, 1
  csrr t5, mepc
  addi t5, t5, 4
  csrw mepc, t5
  mret
