/* Start-up and HTIF helpers for the bare-metal tests (see test.h). */
#include "test.h"

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrr t0, mhartid              /* one hart runs the test; the others wait forever */
  bnez t0, park
  la sp, _stack_top
  la t0, unexpected_trap
  csrw mtvec, t0
  li TESTNUM, 0
  j test_main

park:
  wfi
  j park

  .text
  /* exit(a0): HTIF device 0, (status << 1) | 1; never returns */
  .globl exit
exit:
  slli a0, a0, 1
  ori a0, a0, 1
  la t0, tohost
  sd a0, 0(t0)
1:
  j 1b

  .globl pass
pass:
  li a0, 0
  j exit

  /* a failed check: exit with TESTNUM (999 if no check was started) */
  .globl fail
fail:
  mv a0, TESTNUM
  bnez a0, exit
  li a0, 999
  j exit

  /* putchar(a0): HTIF console (device 1, command 1); waits for the host to take it */
  .globl putchar
putchar:
  li t0, 0x0101000000000000
  andi a0, a0, 0xff
  or t0, t0, a0
  la t1, tohost
  sd t0, 0(t1)
1:
  ld t0, 0(t1)
  bnez t0, 1b
  la t1, fromhost
  sd zero, 0(t1)
  ret

  .align 2
  .globl unexpected_trap
unexpected_trap:
  csrr a0, mcause
  bltz a0, 1f
  addi a0, a0, 1000
  j exit
1:
  slli a0, a0, 1
  srli a0, a0, 1
  addi a0, a0, 2000
  j exit

  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0
