/* berthctl image import|ls|rm: the local node's image store (DATA_DIR/images,
 * the directory the node agent of `berthd server --data-dir DATA_DIR` or
 * `berthd agent --data-dir DATA_DIR` reads). Images are root filesystem
 * tarballs (plain or compressed) or OCI image layouts; pulling from a
 * registry is not part of berth. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/images.h"
#include "ctl/ctl.h"

#define DEFAULT_DATA_DIR "/var/lib/berth"

typedef struct {
    int tty;
    int drawn;
} progress_state;

/* A one-line progress bar on a terminal; nothing when piped. */
static void progress(void *arg, uint64_t done, uint64_t total, const char *what)
{
    progress_state *p = arg;
    if (!p->tty)
        return;
    char bar[31];
    int fill = total ? (int)(done * 30 / total) : (int)(done / (1 << 20)) % 31;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    if (total)
        fprintf(stderr, "\r%-12.12s [%s] %5.1f/%.1f MiB", what ? what : "", bar,
                done / 1048576.0, total / 1048576.0);
    else
        fprintf(stderr, "\r%-12.12s [%s] %5.1f MiB", what ? what : "", bar, done / 1048576.0);
    p->drawn = 1;
}

static int print_image(void *arg, const berth_image_info *info)
{
    (void)arg;
    char when[32];
    time_t t = (time_t)(info->imported_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-40s %10.1f MiB   %s\n", info->ref, info->size / 1048576.0, when);
    return 0;
}

int berth_ctl_cmd_image(berth_ctl *c, int argc, char **argv)
{
    const char *usage = "error: usage: berthctl image import NAME[:TAG] FILE | image ls | "
                        "image rm NAME[:TAG]  [--data-dir DIR]\n";
    if (argc < 1) {
        fputs(usage, stderr);
        return 1;
    }
    const char *dir = c->data_dir ? c->data_dir : DEFAULT_DATA_DIR;
    berth_images *st;
    int err = berth_images_open(dir, &st);
    if (err) {
        fprintf(stderr, "error: cannot open the image store in %s/images: %s (pass "
                        "--data-dir with the server's or agent's data dir)\n",
                dir, berth_strerror(err));
        return 1;
    }
    int code = 0;
    if (!strcmp(argv[0], "import") && argc == 3) {
        progress_state p = {.tty = isatty(2)};
        err = berth_image_import(st, argv[1], argv[2], progress, &p);
        if (p.drawn)
            fputc('\n', stderr);
        if (err) {
            fprintf(stderr, "error: %s\n", berth_images_last_error(st));
            code = 1;
        } else {
            printf("image/%s imported\n", argv[1]);
        }
    } else if ((!strcmp(argv[0], "ls") || !strcmp(argv[0], "list")) && argc == 1) {
        printf("%-40s %14s   %s\n", "IMAGE", "SIZE", "IMPORTED");
        berth_image_list(st, print_image, NULL);
    } else if (!strcmp(argv[0], "rm") && argc == 2) {
        if (berth_image_remove(st, argv[1]) != 0) {
            fprintf(stderr, "error: %s\n", berth_images_last_error(st));
            code = 1;
        } else {
            printf("image/%s removed\n", argv[1]);
        }
    } else {
        fputs(usage, stderr);
        code = 1;
    }
    berth_images_close(st);
    return code;
}
