/* The demo guest: greets through write(2) and counts a little, no libc.
 * Built with: riscv64-linux-gnu-gcc -static -nostdlib -O2 -fno-builtin -march=rv64gc -o hello.elf hello.c
 */
#define SYS_write 64
#define SYS_exit_group 94

static long syscall3(long n, long a, long b, long c) {
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static void put(const char *s) {
    long n = 0;
    while (((volatile const char *)s)[n]) n++;
    syscall3(SYS_write, 1, (long)s, n);
}

static void put_number(unsigned long v) {
    char buf[24];
    int i = sizeof buf - 1;
    buf[i] = 0;
    do buf[--i] = '0' + v % 10; while (v /= 10);
    put(buf + i);
}

void _start(void) {
    unsigned long sum = 0;
    for (unsigned long i = 1; i <= 100000; i++) sum += i * i % 7;
    put("Hello from a riscv64 guest running on vmcore!\n");
    put("sum of i*i mod 7 for i <= 100000: ");
    put_number(sum);
    put("\n");
    syscall3(SYS_exit_group, 0, 0, 0);
    for (;;) {
    }
}
