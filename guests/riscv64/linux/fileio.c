/* File I/O in a directory given as argv[1]: stdio, fds, stat, rename, readdir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fileio DIR\n");
        return 2;
    }
    if (chdir(argv[1]) != 0) {
        perror("chdir");
        return 1;
    }
    FILE *f = fopen("data.txt", "w");
    for (int i = 0; i < 100; i++)
        fprintf(f, "line %d: %d\n", i, i * i);
    fclose(f);

    f = fopen("data.txt", "r");
    char line[64];
    int lines = 0;
    long sum = 0;
    while (fgets(line, sizeof line, f)) {
        int a, b;
        if (sscanf(line, "line %d: %d", &a, &b) == 2)
            sum += b;
        lines++;
    }
    fseek(f, 10, SEEK_SET);
    int c = fgetc(f);
    printf("lines=%d sum=%ld char@10=%c tell=%ld\n", lines, sum, c, ftell(f));
    fclose(f);

    struct stat st;
    stat("data.txt", &st);
    printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));

    int fd = open("raw.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char buf[4096];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (unsigned char)i;
    write(fd, buf, sizeof buf);
    lseek(fd, 1000, SEEK_SET);
    unsigned char back[16];
    read(fd, back, sizeof back);
    printf("pread-ish=%u %u size=%lld\n", back[0], back[15], (long long)lseek(fd, 0, SEEK_END));
    close(fd);

    mkdir("sub", 0755);
    rename("raw.bin", "sub/moved.bin");
    printf("old gone=%d errno=%s\n", access("raw.bin", F_OK) != 0, strerror(errno));
    printf("new here=%d\n", access("sub/moved.bin", R_OK) == 0);
    printf("open missing=%d (%s)\n", open("nope", O_RDONLY), strerror(errno));

    DIR *d = opendir(".");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++)
        printf("entry %s\n", names[i]);

    unlink("sub/moved.bin");
    printf("rmdir=%d\n", rmdir("sub"));
    unlink("data.txt");
    char cwd[4096];
    printf("cwd ends with dir=%d\n", strcmp(getcwd(cwd, sizeof cwd), argv[1]) == 0);
    return 0;
}
