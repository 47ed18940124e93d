/* HTIF console: prints a line through device 1 (the spike board's putchar) and exits 0. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la s0, message
1:
  lbu a0, 0(s0)
  beqz a0, 2f
  call putchar
  addi s0, s0, 1
  j 1b
2:
  j pass

  .data
message: .asciz "hello from bare metal\n"
