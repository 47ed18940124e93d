/* A NULL dereference: the process must die of SIGSEGV (status 139). */
#include <stdio.h>

int main(int argc, char **argv)
{
    volatile int *p = (volatile int *)(long)(argc - 1);
    printf("about to crash\n");
    fflush(stdout);
    *p = 42;
    printf("survived?!\n");
    return 0;
}
