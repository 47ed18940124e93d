/* Sv39 paging end to end: M builds page tables (a 1 GiB identity gigapage for the kernel,
   4 KiB pages at 0x4000_0000 for the rest), turns satp on and drops to S with page faults
   delegated. S checks delegated page faults (scause, stval), SUM, MXR, a read-only page,
   sfence.vma after a remap, then runs U code from its own page (a fetch fault, an ecall)
   and reads back the A/D bits the hardware set. The S trap handler expects cause s5 and
   stval s6, counts faults in s8 and resumes after the faulting instruction (or at s7); it
   uses only t0-t6. */
#include "test.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define KERNEL (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define SSTATUS_SPP (1 << 8)
#define SSTATUS_SUM (1 << 18)
#define SSTATUS_MXR (1 << 19)

#define UVA 0x40000000          /* user code; +0x1000 user data; +0x2000 execute-only */
#define RW_VA 0x40003000        /* remapped by TEST(7) */
#define RO_VA 0x40004000
#define HOLE_VA 0x40005000      /* never mapped */

/* reg = leaf/pointer PTE for the physical address in reg */
#define MKPTE(reg, flags) srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags

  .text
  .globl test_main
test_main:
  la t0, root                   /* root[2]: 0x8000_0000 identity gigapage */
  li t1, 0x80000000
  MKPTE(t1, KERNEL)
  sd t1, 16(t0)
  la t1, l1                     /* root[1] -> l1 -> l0 for 0x4000_0000 */
  MKPTE(t1, PTE_V)
  sd t1, 8(t0)
  la t0, l1
  la t1, l0
  MKPTE(t1, PTE_V)
  sd t1, 0(t0)
  la t0, l0
  la t1, user_page              /* A and D clear: the hardware sets them */
  MKPTE(t1, PTE_V | PTE_R | PTE_X | PTE_U)
  sd t1, 0(t0)
  la t1, user_data
  MKPTE(t1, PTE_V | PTE_R | PTE_W | PTE_U)
  sd t1, 8(t0)
  la t1, xonly_page
  MKPTE(t1, PTE_V | PTE_X | PTE_A)
  sd t1, 16(t0)
  la t1, data_a
  MKPTE(t1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  sd t1, 24(t0)
  la t1, ro_page
  MKPTE(t1, PTE_V | PTE_R | PTE_A)
  sd t1, 32(t0)

  li t0, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15)
  csrw medeleg, t0              /* U ecall and the three page faults go to S */
  la t0, s_handler
  csrw stvec, t0
  li s9, 8 << 60                /* satp = Sv39 | root */
  la t0, root
  srli t0, t0, 12
  or s9, s9, t0
  csrw satp, s9
  sfence.vma
  MRET_TO_S(s_code)              /* mret to S */
  li s8, 0
  li s7, 0
  mret

s_code:
  TEST(2)                       /* satp reads back; S runs through the gigapage */
  csrr t0, satp
  CHECK_REG(t0, s9)
  la t0, data_a
  ld t1, 0(t0)
  CHECK(t1, 0xAAAA)

  TEST(3)                       /* unmapped: load page fault, stval = the address */
  li s5, 13
  li s6, HOLE_VA + 8
  mv t0, s6
  ld t1, 0(t0)
  CHECK(s8, 1)

  TEST(4)                       /* a U page: S needs SUM */
  li s6, UVA + 0x1000
  mv t0, s6
  ld t1, 0(t0)
  CHECK(s8, 2)
  li t2, SSTATUS_SUM
  csrs sstatus, t2
  ld t1, 0(t0)
  CHECK(t1, 0x1234)
  csrc sstatus, t2

  TEST(5)                       /* an execute-only page: readable only with MXR */
  li s6, UVA + 0x2000
  mv t0, s6
  ld t1, 0(t0)
  CHECK(s8, 3)
  li t2, SSTATUS_MXR
  csrs sstatus, t2
  ld t1, 0(t0)
  CHECK(t1, 0x7777)
  csrc sstatus, t2

  TEST(6)                       /* a read-only page: store page fault, memory unchanged */
  li s5, 15
  li s6, RO_VA + 16
  mv t0, s6
  sd zero, 0(t0)
  CHECK(s8, 4)
  ld t1, 0(t0)
  CHECK(t1, 0x5555)

  TEST(7)                       /* remap a page: sfence.vma makes the new mapping visible */
  li t0, RW_VA
  ld t1, 0(t0)
  CHECK(t1, 0xAAAA)
  la t2, l0
  la t3, data_b
  MKPTE(t3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  sd t3, 24(t2)
  sfence.vma t0
  ld t1, 0(t0)
  CHECK(t1, 0xBBBB)

  TEST(8)                       /* U code from its page: a fetch fault, then an ecall */
  li s5, 12
  li s6, HOLE_VA
  la t0, user_ecall
  la t1, user_page
  sub t0, t0, t1
  li s7, UVA
  add s7, s7, t0                /* the fetch fault resumes at the ecall */
  mv s11, s7
  la s10, back_from_user
  li a1, UVA + 0x1000
  li a0, 0
  li t0, SSTATUS_SPP
  csrc sstatus, t0
  li t0, UVA
  csrw sepc, t0
  sret

back_from_user:
  TEST(9)
  CHECK(s8, 5)
  csrr t0, sepc                 /* the ecall's virtual address */
  CHECK_REG(t0, s11)
  CHECK(a0, 0x1234)

  TEST(10)                      /* A on the code page, A and D on the data page */
  la t0, l0
  ld t1, 0(t0)
  andi t1, t1, PTE_A | PTE_D
  CHECK(t1, PTE_A)
  ld t1, 8(t0)
  andi t1, t1, PTE_A | PTE_D
  CHECK(t1, PTE_A | PTE_D)
  la t0, user_data
  ld t1, 8(t0)
  CHECK(t1, 0x1234)
  j pass

  .align 2
s_handler:
  csrr t4, scause
  li t5, 8
  beq t4, t5, 2f
  CHECK_REG(t4, s5)
  csrr t4, stval
  CHECK_REG(t4, s6)
  addi s8, s8, 1
  bnez s7, 1f
  csrr t4, sepc
  addi t4, t4, 4
  csrw sepc, t4
  sret
1:
  csrw sepc, s7
  li s7, 0
  sret
2:
  jr s10                        /* the U ecall: continue the test in S */

  /* U code: position independent, alone on its page */
  .align 12
user_page:
  ld a0, 0(a1)
  sd a0, 8(a1)
  li t0, HOLE_VA
  jr t0
user_ecall:
  ecall
1:
  j 1b
  .align 12

  .data
  .align 12
root: .zero 4096
l1: .zero 4096
l0: .zero 4096
user_data: .dword 0x1234, 0
  .align 12
xonly_page: .dword 0x7777
  .align 12
data_a: .dword 0xAAAA
  .align 12
data_b: .dword 0xBBBB
  .align 12
ro_page: .dword 0, 0, 0x5555
  .align 12
