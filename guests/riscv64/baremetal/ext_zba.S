/* Zba known answers. */
#include "test.h"

  .text
  .globl test_main
test_main:
  li a1, 3
  li a2, 1000
  TEST(2)
  sh1add a3, a1, a2
  CHECK(a3, 1006)
  sh2add a3, a1, a2
  CHECK(a3, 1012)
  sh3add a3, a1, a2
  CHECK(a3, 1024)
  TEST(3)
  li a1, 0xffffffff80000001
  add.uw a3, a1, zero
  CHECK(a3, 0x80000001)
  sh1add.uw a3, a1, zero
  CHECK(a3, 0x100000002)
  slli.uw a3, a1, 4
  CHECK(a3, 0x800000010)
  j pass
