/* Exit statuses: return from main, exit(), _exit(), abort(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bye(void)
{
    printf("atexit ran\n");
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "return";
    int code = argc > 2 ? atoi(argv[2]) : 0;
    atexit(bye);
    printf("how=%s code=%d\n", how, code);
    if (strcmp(how, "exit") == 0)
        exit(code);
    if (strcmp(how, "_exit") == 0) {
        fflush(stdout);
        _exit(code);
    }
    if (strcmp(how, "abort") == 0) {
        fflush(stdout);
        abort();
    }
    return code;
}
