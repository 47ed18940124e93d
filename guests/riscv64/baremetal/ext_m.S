/* M extension known answers, including the division corner cases. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)
  li a1, -7
  li a2, 3
  mul a3, a1, a2
  CHECK(a3, -21)
  div a3, a1, a2
  CHECK(a3, -2)
  rem a3, a1, a2
  CHECK(a3, -1)
  TEST(3)
  li a1, -1
  mulhu a3, a1, a1
  CHECK(a3, 0xfffffffffffffffe)
  mulh a3, a1, a1
  CHECK(a3, 0)
  TEST(4)                       /* divide by zero, overflow */
  li a1, 42
  div a3, a1, zero
  CHECK(a3, -1)
  remu a3, a1, zero
  CHECK(a3, 42)
  li a1, 0x8000000000000000
  li a2, -1
  div a3, a1, a2
  CHECK_REG(a3, a1)
  rem a3, a1, a2
  CHECK(a3, 0)
  TEST(5)
  li a1, 0x7fffffff
  li a2, 2
  mulw a3, a1, a2
  CHECK(a3, -2)
  divuw a3, a2, a2
  CHECK(a3, 1)
  j pass
