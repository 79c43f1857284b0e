/* berthctl: the berth command line. */
#include <stdio.h>
#include <string.h>

#include "berth/berth.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("berthctl %s\n", BERTH_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: berthctl COMMAND ...\n");
    return 2;
}
