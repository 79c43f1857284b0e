/* berthd: the berth daemon. Subcommands: server (more to come). */
#include <stdio.h>
#include <string.h>

#include "berth/berth.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: berthd server [--data-dir DIR] [--listen ADDR:PORT]\n"
               "       berthd version\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("berthd %s (Kubernetes API %s)\n", BERTH_VERSION, BERTH_KUBE_VERSION);
        return 0;
    }
    usage(stderr);
    return 2;
}
