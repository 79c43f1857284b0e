/* `berthd controllers` (core/lua/standalone.c). */
#ifndef BERTH_LUA_STANDALONE_H
#define BERTH_LUA_STANDALONE_H

/* Runs the controller host against the API server of a kubeconfig until
 * SIGINT/SIGTERM. argv holds the subcommand's flags; stock_dir is the stock
 * controllers' directory (loaded unless --no-stock-controllers). Returns the
 * process exit code. */
int berth_controllers_main(int argc, char **argv, const char *stock_dir);

#endif
