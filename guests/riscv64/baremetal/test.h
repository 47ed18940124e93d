/* Self-checking bare-metal tests: macros shared by every guests/riscv64/baremetal/*.S.

   A test starts at test_main (in M mode, mtvec = an "unexpected trap" handler, sp set)
   and ends with `j pass` or a failed check. TESTNUM (gp) names the check in progress and
   becomes the HTIF exit status on failure, so a failing run says which check broke.
   Unexpected traps exit with 1000 + mcause (2000 + cause for interrupts). */
#ifndef VMCORE_BAREMETAL_TEST_H
#define VMCORE_BAREMETAL_TEST_H

#define TESTNUM gp

/* start check n */
#define TEST(n) li TESTNUM, n

/* fail the current check unless reg == value (t6 is scratch) */
#define CHECK(reg, value) li t6, value; bne reg, t6, fail
#define CHECK_REG(reg, other) bne reg, other, fail

/* CSR numbers the assembler may not know */
#define CSR_MENVCFG 0x30a
#define CSR_MCOUNTINHIBIT 0x320
#define CSR_MCONFIGPTR 0xf15

#define CLINT_MSIP 0x02000000
#define CLINT_MTIMECMP 0x02004000
#define CLINT_MTIME 0x0200bff8

#define MSTATUS_MIE (1 << 3)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_MPP (3 << 11)
#define MSTATUS_FS (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_TW (1 << 21)

/* Make the next mret enter S mode at `label` (MPP = S, mepc = label); clobbers t0. */
#define MRET_TO_S(label) \
  li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, 1 << 11; csrs mstatus, t0; \
  la t0, label; csrw mepc, t0
#define MIP_MSIP (1 << 3)
#define MIP_MTIP (1 << 7)
#define INTERRUPT_BIT (1 << 63)

/* enter U mode at label (clobbers t0) */
#define GOTO_USER(label) \
  li t0, MSTATUS_MPP; csrc mstatus, t0; la t0, label; csrw mepc, t0; mret

#endif
