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
#include <dirent.h>
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
 * temporary folder, gnuplot not run) into *md (a new string); its result. */
static inline int render_into(const char *section, const char *results, char **md, ReportCtx *c)
{
    size_t len = 0;
    FILE *f = open_memstream(md, &len);
    HG_CHECK(f, "open_memstream");
    ReportOptions o = {.results = results, .plots = files_tmp_dir(), .out = "-"};
    memset(c, 0, sizeof *c);
    int rc = report_section(&o, section, f, c);
    fclose(f);
    return rc;
}

/* The same, the Markdown returned and the result in *rc. */
static inline char *render_section(const char *section, const char *results, int *rc, ReportCtx *c)
{
    char *text = NULL;
    *rc = render_into(section, results, &text, c);
    return text;
}

/* dir/name as a JSON tree (aborts, naming the file, if it does not parse). */
static inline json_t *fixture_load(const char *dir, const char *name)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    HG_CHECK(j, "%s: %s", path, e.text);
    return j;
}

/* The fixture <section>/<file> with change applied, written as <tmp>/<name>/<file>;
 * the folder (valid until the next call). */
static inline const char *mutated_fixture(const char *section, const char *file, const char *name,
                                   void (*change)(json_t *root))
{
    json_t *root = fixture_load(fixture_dir(section), file);
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

/* One file of a copied fixture folder: either its JSON tree changed by
 * edit (edit NULL: the file left out), or its text with the first `from`
 * replaced by `to`. */
typedef struct FixtureEdit {
    const char *target;           /* the file changed; NULL: none */
    void (*edit)(json_t *root);
    const char *from, *to;        /* a text edit when from is set */
} FixtureEdit;

/* The fixture folder report/<section> copied to <tmp>/<sub>, every file as
 * it is but ed's target, changed as ed says; the folder (valid until the
 * next files_tmp calls rotate it out). */
static inline const char *fixture_copy(const char *section, const char *sub, FixtureEdit ed)
{
    const char *src = fixture_dir(section);
    const char *dst = files_tmp(sub);
    mkdir(dst, 0777);
    DIR *d = opendir(src);
    HG_CHECK(d, "%s", src);
    int found = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char a[4400], b[4400];
        snprintf(a, sizeof a, "%s/%s", src, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        const int changed = ed.target && !strcmp(e->d_name, ed.target);
        found |= changed;
        if (changed && !ed.from) {
            if (!ed.edit) continue;
            json_t *j = fixture_load(src, e->d_name);
            ed.edit(j);
            HG_CHECK(json_dump_file(j, b, JSON_INDENT(1)) == 0, "%s", b);
            json_decref(j);
            continue;
        }
        size_t n;
        char *text = files_slurp(a, &n);
        HG_CHECK(text, "%s", a);
        char *at = changed ? strstr(text, ed.from) : NULL;
        HG_CHECK(!changed || at, "'%s' not in %s", ed.from, a);
        FILE *f = fopen(b, "w");
        HG_CHECK(f, "%s", b);
        if (at) {
            fwrite(text, 1, (size_t)(at - text), f);
            fputs(ed.to, f);
            fputs(at + strlen(ed.from), f);
        } else {
            fwrite(text, 1, n, f);
        }
        fclose(f);
        free(text);
    }
    closedir(d);
    HG_CHECK(!ed.target || found, "%s: no file %s in %s", sub, ed.target, src);
    return dst;
}

/* rows[i] of a result file, and its run (hgbench-runs' files). */
static inline json_t *fixture_row(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "rows"), i);
}

#endif
