/* CRC-32 (reflected, 0xEDB88320) over a pseudo-random buffer, bitwise and table-driven. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t table[256];

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc_table(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return c ^ 0xFFFFFFFFu;
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    size_t n = 4096;
    uint8_t *buf = malloc(n);
    uint32_t x = 12345, acc = 0;
    make_table();
    for (int r = 0; r < 4 * scale; r++) {
        for (size_t i = 0; i < n; i++) { x = x * 1103515245u + 12345u; buf[i] = x >> 16; }
        uint32_t a = crc_table(buf, n), b = crc_bitwise(buf, n);
        if (a != b) { printf("mismatch %08x %08x\n", a, b); return 1; }
        acc ^= a + r;
    }
    printf("crc32 %08x\n", acc);
    return 0;
}
