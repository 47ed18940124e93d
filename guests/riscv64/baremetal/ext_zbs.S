/* Zbs known answers. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)
  li a1, 0
  bseti a2, a1, 63
  CHECK(a2, 0x8000000000000000)
  li a3, 65                     /* the index is taken modulo 64 */
  bset a2, a1, a3
  CHECK(a2, 2)
  TEST(3)
  li a1, -1
  bclri a2, a1, 0
  CHECK(a2, -2)
  binvi a2, a1, 63
  CHECK(a2, 0x7fffffffffffffff)
  bexti a2, a1, 40
  CHECK(a2, 1)
  li a1, 0x100
  li a3, 8
  bext a2, a1, a3
  CHECK(a2, 1)
  j pass
