/* Printing meta.k8s.io/v1 Tables the way kubectl does: upper-case headers,
 * columns padded to their widest cell plus three spaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/table.h"

static void cell_text(const cJSON *cell, char *buf, size_t size)
{
    if (cJSON_IsString(cell))
        snprintf(buf, size, "%s", cell->valuestring);
    else if (cJSON_IsNumber(cell))
        snprintf(buf, size, "%.0f", cell->valuedouble);
    else if (cJSON_IsBool(cell))
        snprintf(buf, size, "%s", cJSON_IsTrue(cell) ? "true" : "false");
    else
        snprintf(buf, size, "<none>");
}

void berth_table_init(berth_table *t, int wide, int with_namespace)
{
    memset(t, 0, sizeof *t);
    t->wide = wide;
    t->with_namespace = with_namespace;
}

void berth_table_set_columns(berth_table *t, const cJSON *defs)
{
    if (t->ncols)
        return; /* a watch repeats no definitions; keep the first */
    const cJSON *d;
    cJSON_ArrayForEach(d, defs)
    {
        if (t->ncols >= BERTH_TABLE_MAXCOLS)
            break;
        const cJSON *prio = cJSON_GetObjectItemCaseSensitive(d, "priority");
        int show = t->wide || !cJSON_IsNumber(prio) || prio->valueint == 0;
        t->show[t->ncols] = show;
        const char *name = berth_obj_str(d, "name");
        snprintf(t->names[t->ncols], sizeof t->names[0], "%s", name ? name : "");
        for (char *p = t->names[t->ncols]; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        t->ncols++;
    }
}

static char *row_line(const berth_table *t, const cJSON *row, int *widths)
{
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f)
        return NULL;
    int col = 0;
    if (t->with_namespace) {
        const char *ns = berth_obj_str(cJSON_GetObjectItemCaseSensitive(row, "object"),
                                       "metadata.namespace");
        fprintf(f, "%s\t", ns ? ns : "");
        col++;
    }
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(row, "cells");
    for (int i = 0; i < t->ncols; i++) {
        if (!t->show[i])
            continue;
        char text[512];
        cell_text(cJSON_GetArrayItem(cells, i), text, sizeof text);
        fprintf(f, "%s\t", text);
        int w = (int)strlen(text);
        if (widths && w > widths[col])
            widths[col] = w;
        col++;
    }
    fclose(f);
    return line;
}

static void print_padded(FILE *out, const char *tabbed, const int *widths)
{
    int col = 0;
    const char *p = tabbed;
    while (*p) {
        const char *tab = strchr(p, '\t');
        if (!tab)
            break;
        int w = (int)(tab - p);
        const char *next = tab + 1;
        if (*next)
            fprintf(out, "%.*s%*s", w, p, widths[col] - w + 3, "");
        else
            fprintf(out, "%.*s", w, p);
        p = next;
        col++;
    }
    fputc('\n', out);
}

void berth_table_print(berth_table *t, FILE *out, const cJSON *rows, int header)
{
    int widths[BERTH_TABLE_MAXCOLS + 1] = {0};
    char hdr[4096];
    size_t hn = 0;
    int col = 0;
    if (t->with_namespace) {
        hn += (size_t)snprintf(hdr + hn, sizeof hdr - hn, "NAMESPACE\t");
        widths[col++] = 9;
    }
    for (int i = 0; i < t->ncols && hn < sizeof hdr; i++) {
        if (!t->show[i])
            continue;
        hn += (size_t)snprintf(hdr + hn, sizeof hdr - hn, "%s\t", t->names[i]);
        widths[col++] = (int)strlen(t->names[i]);
    }
    /* Watches print each row as it comes; keep the header's widths then, so
     * rows line up under it as kubectl's do. */
    for (int i = 0; i < col; i++)
        if (t->widths[i] > widths[i])
            widths[i] = t->widths[i];
    int n = cJSON_GetArraySize(rows);
    char **lines = calloc((size_t)n + 1, sizeof *lines);
    if (!lines)
        return;
    for (int i = 0; i < n; i++)
        lines[i] = row_line(t, cJSON_GetArrayItem(rows, i), widths);
    if (header)
        print_padded(out, hdr, widths);
    for (int i = 0; i < n; i++) {
        if (lines[i])
            print_padded(out, lines[i], widths);
        free(lines[i]);
    }
    free(lines);
    memcpy(t->widths, widths, sizeof t->widths);
    fflush(out);
}
