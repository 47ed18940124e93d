/* Zbb known answers. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST(2)
  li a1, 0x00f0
  clz a2, a1
  CHECK(a2, 56)
  ctz a2, a1
  CHECK(a2, 4)
  cpop a2, a1
  CHECK(a2, 4)
  clzw a2, a1
  CHECK(a2, 24)
  TEST(3)
  li a1, 0x0102030405060708
  rev8 a2, a1
  CHECK(a2, 0x0807060504030201)
  rori a2, a1, 8
  CHECK(a2, 0x0801020304050607)
  rolw a2, a1, zero
  CHECK(a2, 0x05060708)
  TEST(4)
  li a1, -5
  li a3, 3
  max a2, a1, a3
  CHECK(a2, 3)
  maxu a2, a1, a3
  CHECK(a2, -5)
  min a2, a1, a3
  CHECK(a2, -5)
  andn a2, a3, a1
  CHECK(a2, 0)
  TEST(5)
  li a1, 0x80
  sext.b a2, a1
  CHECK(a2, -128)
  zext.h a2, a1
  CHECK(a2, 0x80)
  li a1, 0x0100ff00
  orc.b a2, a1
  CHECK(a2, 0xff00ff00)
  j pass
