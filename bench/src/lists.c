/* Linked lists: build, reverse, find and a small state machine over list contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; int32_t key; int32_t val; };

static struct node *reverse(struct node *h) {
    struct node *r = NULL;
    while (h) { struct node *n = h->next; h->next = r; r = h; h = n; }
    return r;
}

enum state { START, NUM, NEG, ODD, DONE };

static int machine(struct node *h) {
    enum state s = START;
    int count = 0;
    for (; h; h = h->next) {
        switch (s) {
        case START: s = h->key < 0 ? NEG : NUM; break;
        case NUM: s = (h->val & 1) ? ODD : NUM; count += h->val & 3; break;
        case NEG: s = h->key > 100 ? DONE : START; count ^= h->key; break;
        case ODD: s = NUM; count += 7; break;
        case DONE: s = START; count--; break;
        }
    }
    return count;
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int n = 1000;
    struct node *pool = malloc(n * sizeof *pool);
    uint32_t x = 7, acc = 0;
    for (int r = 0; r < 6 * scale; r++) {
        struct node *h = NULL;
        for (int i = 0; i < n; i++) {
            x = x * 69069 + 1;
            pool[i].key = (int32_t)(x >> 20) - 2048;
            pool[i].val = i;
            pool[i].next = h;
            h = &pool[i];
        }
        h = reverse(h);
        int found = 0;
        for (int q = 0; q < 50; q++)
            for (struct node *p = h; p; p = p->next)
                if (p->key == q * 37 - 900) { found++; break; }
        acc = acc * 17 + machine(h) + found;
    }
    printf("lists %08x\n", acc);
    return 0;
}
