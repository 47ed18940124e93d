/* Sv48: four-level tables, a page in the upper half of the address space, a 2 MiB
   megapage above Sv39's reach, the canonical-address rule (and how it changes when satp
   switches to Sv39), then M-mode loads through the page tables with MPRV and MPP = S.
   Delegated page faults go to s_handler, which expects cause s5 and stval s6, counts them
   in s8 and resumes after the faulting instruction (it uses only t4-t6). */
#include "test.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_A 0x40
#define PTE_D 0x80
#define KERNEL (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define DATA (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

#define HIGH_VA 0xffff800000000000  /* root[256] -> l2b -> l1b -> l0b[0] */
#define MEGA_VA 0x0000004000000000  /* root[0] -> l2[256] -> l1c[0], a 2 MiB leaf */
#define MEGA_PA 0x80200000
#define NONCANON 0x0000800000000000

#define MKPTE(reg, flags) srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
/* table[index] = pointer to next */
#define LINK(table, index, next) \
  la t0, table; li t2, (index) * 8; add t0, t0, t2; \
  la t1, next; MKPTE(t1, PTE_V); sd t1, 0(t0)

  .text
  .globl test_main
test_main:
  LINK(root, 0, l2)
  LINK(root, 256, l2b)
  LINK(l2b, 0, l1b)
  LINK(l1b, 0, l0b)
  LINK(l2, 256, l1c)
  la t0, l2                     /* l2[2]: 0x8000_0000 identity gigapage */
  li t1, 0x80000000
  MKPTE(t1, KERNEL)
  sd t1, 16(t0)
  la t0, root                   /* the same at root[2], for TEST(6) reading root as Sv39 */
  sd t1, 16(t0)
  la t0, l0b
  la t1, high_page
  MKPTE(t1, DATA)
  sd t1, 0(t0)
  la t0, l1c
  li t1, MEGA_PA
  MKPTE(t1, DATA)
  sd t1, 0(t0)
  li t0, MEGA_PA + 0x1008       /* what the megapage shows at +0x1008 */
  li t1, 0x4848
  sd t1, 0(t0)

  li t0, (1 << 13) | (1 << 15)
  csrw medeleg, t0
  la t0, s_handler
  csrw stvec, t0
  la t0, m_handler
  csrw mtvec, t0
  li s9, 9 << 60                /* satp = Sv48 | root */
  la t0, root
  srli t0, t0, 12
  or s9, s9, t0
  csrw satp, s9
  sfence.vma
  MRET_TO_S(s_code)
  li s8, 0
  mret

s_code:
  TEST(2)                       /* Sv48 is accepted */
  csrr t0, satp
  CHECK_REG(t0, s9)

  TEST(3)                       /* a four-level walk in the upper half */
  li t0, HIGH_VA + 8
  ld t1, 0(t0)
  CHECK(t1, 0x4141)

  TEST(4)                       /* a megapage: the low VPN comes from the address */
  li t0, MEGA_VA + 0x1008
  ld t1, 0(t0)
  CHECK(t1, 0x4848)

  TEST(5)                       /* bits 63:47 differ: a page fault, stval = the address */
  li s5, 13
  li s6, NONCANON
  mv t0, s6
  ld t1, 0(t0)
  CHECK(s8, 1)

  TEST(6)                       /* under Sv39 the megapage address is not canonical */
  li t2, 8 << 60
  la t0, root
  srli t0, t0, 12
  or t2, t2, t0
  csrw satp, t2
  sfence.vma
  li s6, MEGA_VA + 0x1008
  mv t0, s6
  ld t1, 0(t0)
  CHECK(s8, 2)
  csrw satp, s9
  sfence.vma
  ld t1, 0(t0)
  CHECK(t1, 0x4848)

  TEST(7)                       /* back in M: MPRV with MPP = S translates loads */
  ecall
  j fail

  .align 2
m_handler:
  csrr t0, mcause
  li t1, 9
  bne t0, t1, unexpected_trap
  li t0, MSTATUS_MPP            /* MPP = S, MPRV = 1 */
  csrc mstatus, t0
  li t0, (1 << 11) | MSTATUS_MPRV
  csrs mstatus, t0
  li t0, HIGH_VA + 8
  ld t1, 0(t0)
  li t0, MSTATUS_MPRV
  csrc mstatus, t0
  CHECK(t1, 0x4141)
  la t0, high_page              /* and without MPRV, M is untranslated */
  ld t1, 8(t0)
  CHECK(t1, 0x4141)
  j pass

  .align 2
s_handler:
  csrr t4, scause
  CHECK_REG(t4, s5)
  csrr t4, stval
  CHECK_REG(t4, s6)
  addi s8, s8, 1
  csrr t4, sepc
  addi t4, t4, 4
  csrw sepc, t4
  sret

  .data
  .align 12
root: .zero 4096
l2: .zero 4096
l2b: .zero 4096
l1b: .zero 4096
l0b: .zero 4096
l1c: .zero 4096
high_page: .dword 0, 0x4141
  .align 12
