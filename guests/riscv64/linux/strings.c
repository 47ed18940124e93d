/* The string functions glibc implements with word tricks (and vector code elsewhere). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char buf[256], copy[256];
    strcpy(buf, "The quick brown fox jumps over the lazy dog");
    printf("len=%zu\n", strlen(buf));
    printf("chr=%s\n", strchr(buf, 'q'));
    printf("rchr=%s\n", strrchr(buf, 'o'));
    printf("str=%s\n", strstr(buf, "fox"));
    printf("cmp=%d %d %d\n", strcmp("abc", "abd") < 0, strcmp("b", "a") > 0, strcmp("x", "x"));
    printf("ncmp=%d casecmp=%d\n", strncmp("abcdef", "abcxyz", 3), strcasecmp("HeLLo", "hello"));
    memcpy(copy, buf, strlen(buf) + 1);
    memmove(copy + 4, copy, 10);
    printf("memmove=%s\n", copy);
    memset(copy, '-', 5);
    printf("memset=%.12s\n", copy);
    printf("memcmp=%d\n", memcmp(buf, copy, 5) != 0);
    char *tok, *save, line[] = "a,b,,c;d e";
    for (tok = strtok_r(line, ",; ", &save); tok; tok = strtok_r(NULL, ",; ", &save))
        printf("[%s]", tok);
    printf("\n");
    char out[64];
    int n = snprintf(out, sizeof out, "%5d|%-5s|%05.1f|%x|%o|%c", 42, "ab", 3.14159, 255, 8, 'Z');
    printf("snprintf=%s (%d)\n", out, n);
    n = snprintf(out, 8, "%s", "truncated output");
    printf("trunc=%s (%d)\n", out, n);
    for (char *p = buf; *p; p++)
        *p = toupper((unsigned char)*p);
    printf("upper=%s\n", buf);
    printf("atoi=%d strtol=%ld strtoul=%lu\n", atoi("-123"), strtol("0x1f", NULL, 16),
           strtoul("777", NULL, 8));
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    printf("biglen=%zu dup=%zu\n", strlen(big), strlen(strdup(big)));
    printf("spn=%zu cspn=%zu\n", strspn("aaabbc", "ab"), strcspn("hello world", " "));
    return 0;
}
