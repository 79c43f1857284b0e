/* Printing meta.k8s.io/v1 Tables (core/ctl/table.c). */
#ifndef BERTH_CTL_TABLE_H
#define BERTH_CTL_TABLE_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "berth/object.h"

#define BERTH_TABLE_MAXCOLS 24

typedef struct berth_table {
    int ncols;
    int wide, with_namespace;
    int show[BERTH_TABLE_MAXCOLS];
    char names[BERTH_TABLE_MAXCOLS][48];
    int widths[BERTH_TABLE_MAXCOLS + 1];
} berth_table;

void berth_table_init(berth_table *t, int wide, int with_namespace);
/* Takes the columnDefinitions of the first Table seen. */
void berth_table_set_columns(berth_table *t, const cJSON *defs);
/* Prints rows, with the header line when header is set. */
void berth_table_print(berth_table *t, FILE *out, const cJSON *rows, int header);

#endif
