/* mmap/munmap/mprotect/mremap directly, and a file mapping. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long page = sysconf(_SC_PAGESIZE);
    char *a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 1;
    int zero = 1;
    for (long i = 0; i < 4 * page; i++)
        zero &= a[i] == 0;
    memset(a, 'a', 4 * page);
    printf("page=%ld zeroed=%d\n", page, zero);
    printf("mprotect=%d\n", mprotect(a + page, page, PROT_READ));
    printf("munmap middle=%d\n", munmap(a + 2 * page, page));
    char *b = mremap(a, page, 8 * page, MREMAP_MAYMOVE);
    printf("mremap ok=%d kept=%c\n", b != MAP_FAILED, b[page - 1]);
    printf("bad munmap=%d\n", munmap((char *)b + 1, page));

    char path[] = "/proc/self/exe";
    int fd = open(path, O_RDONLY);
    char *elf = mmap(NULL, 64, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("exe magic=%.3s class=%d machine=%d\n", elf + 1, elf[4], *(short *)(elf + 18));
    close(fd);

    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    printf("stack limit=%lu\n", (unsigned long)rl.rlim_cur);
    struct utsname u;
    uname(&u);
    printf("sysname=%s machine=%s\n", u.sysname, u.machine);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("monotonic=%d\n", t1.tv_sec > t0.tv_sec || (t1.tv_sec == t0.tv_sec && t1.tv_nsec >= t0.tv_nsec));
    printf("pid positive=%d\n", getpid() > 0);
    char cwd[4096];
    printf("getcwd ok=%d\n", getcwd(cwd, sizeof cwd) != NULL);
    return 0;
}
