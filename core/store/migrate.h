/* `berthd store export|import`: moving every object between stores. */
#ifndef BERTH_STORE_MIGRATE_H
#define BERTH_STORE_MIGRATE_H

/* argv[0] is "export" or "import" (the words after `berthd store`).
 * Returns the process exit status: 0, 1 on failure, 2 on bad usage. */
int berth_store_migrate_main(int argc, char **argv);

#endif
