/* Reads stdin to the end, reports what it saw (read(2) through stdio and directly). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char line[256];
    int lines = 0, upper = 0;
    long bytes = 0;
    if (!fgets(line, sizeof line, stdin))
        return 1;
    printf("first: %s", line);
    bytes += strlen(line);
    lines++;
    while (fgets(line, sizeof line, stdin)) {
        for (char *p = line; *p; p++)
            upper += isupper((unsigned char)*p) != 0;
        bytes += strlen(line);
        lines++;
    }
    printf("lines=%d bytes=%ld upper=%d eof=%d\n", lines, bytes, upper, feof(stdin) != 0);
    char c;
    printf("read after eof=%zd\n", read(0, &c, 1));
    printf("isatty(0)=%d isatty(1)=%d\n", isatty(0), isatty(1));
    return 0;
}
