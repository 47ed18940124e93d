/* argv, envp and the auxiliary vector as a program sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=<%s>\n", i, argv[i]);
    /* by name, not in environ's order: qemu-user reverses it (Linux keeps it) */
    int n = 0;
    for (char **e = environ; *e; e++)
        n += strncmp(*e, "VM_", 3) == 0;
    printf("env VM_ONE=%s\n", getenv("VM_ONE"));
    printf("env VM_TWO=%s\n", getenv("VM_TWO"));
    printf("VM_ vars=%d\n", n);
    printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    printf("pagesz=%lu\n", getauxval(AT_PAGESZ));
    printf("random=%d\n", getauxval(AT_RANDOM) != 0);
    printf("stack aligned=%d\n", ((unsigned long)__builtin_frame_address(0) & 15) == 0);
    return argc;
}
