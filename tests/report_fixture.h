/* report_fixture.h — what the section renderers' tests share (included by
 * one test file each): the fixtures' folder, one section rendered into a
 * string, and a fixture with one change written to a temporary folder (for
 * the missing-field and wrong-type checks). Call files_setup first; define
 * _GNU_SOURCE (open_memstream) before any include. */
#ifndef HG_REPORT_FIXTURE_H
#define HG_REPORT_FIXTURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bench/report.h"
#include "support_files.h"
#include "support_fixtures.h"

/* tests/fixtures/report/<section> (support_fixtures.h finds it). */
static inline const char *fixture_dir(const char *section)
{
    char name[128];
    snprintf(name, sizeof name, "report/%s", section);
    return fixture_path(name);
}

/* The section rendered from results (plots' data and scripts to the
 * temporary folder, gnuplot not run), as a new string; *rc its result. */
static inline char *render_section(const char *section, const char *results, int *rc, ReportCtx *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    HG_CHECK(f, "open_memstream");
    ReportOptions o = {.results = results, .plots = files_tmp_dir(), .out = "-"};
    memset(c, 0, sizeof *c);
    *rc = report_section(&o, section, f, c);
    fclose(f);
    return text;
}

/* The fixture <section>/<file> with change applied, written as <tmp>/<name>/<file>;
 * the folder (valid until the next call). */
static inline const char *mutated_fixture(const char *section, const char *file, const char *name,
                                   void (*change)(json_t *root))
{
    char src[sizeof files_bin_dir + 256];
    snprintf(src, sizeof src, "%s/%s", fixture_dir(section), file);
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e);
    HG_CHECK(root, "%s: %s", src, e.text);
    change(root);
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", files_tmp(name));
    mkdir(dir, 0777);
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    HG_CHECK(json_dump_file(root, path, JSON_INDENT(1)) == 0, "%s", path);
    json_decref(root);
    return dir;
}

/* rows[i] of a result file, and its run (hgbench-runs' files). */
static inline json_t *fixture_row(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "rows"), i);
}

#endif
