/* support_files.h — what the tests that run hgbench's binaries share: a
 * temporary folder per test binary, paths in it, reading a whole file,
 * running a program with its output captured, and a tiny MNIST-format IDX
 * set. */
#ifndef HG_SUPPORT_FILES_H
#define HG_SUPPORT_FILES_H

#include <stddef.h>

struct json_t; /* jansson's; not included here, so that a test may name its own json_* helpers */

/* build/<config>: the folder above the running test binary's tests/. */
extern char files_bin_dir[4096];

/* Sets files_bin_dir and makes /tmp/hgbench-test-<name>-XXXXXX (once). */
void files_setup(const char *name);
/* The temporary folder ("" before files_setup); files_cleanup removes it. */
const char *files_tmp_dir(void);
void files_cleanup(void);
/* name inside the temporary folder (one of 8 rotating buffers). */
char *files_tmp(const char *name);
/* Removes a folder and everything under it. */
void files_remove_tree(const char *dir);
/* The whole file, NUL-terminated (free it); NULL if unreadable. */
char *files_slurp(const char *path, size_t *len);
/* An hpo or hypergrad --json log without the lines that hold times or the
 * peak RSS, to compare two runs byte for byte (free it); NULL if unreadable. */
char *files_results_of(const char *path);
/* The file's JSON (json_decref it); NULL if unreadable or not JSON. */
struct json_t *files_read_json(const char *path);

typedef struct Run {
    int status;   /* exit status, or 128 + signal */
    char *out, *err;
} Run;

/* Runs prog with the words of args (split on spaces) after argv[0], stdout
 * and stderr captured; never fails to return a Run (out, err at least ""). */
Run run_prog(const char *prog, const char *args);
/* files_bin_dir/name with args. */
Run run_bin(const char *name, const char *args);
void run_free(Run *r);

/* A tiny MNIST-format IDX set in dir: <prefix>-images-idx3-ubyte and
 * <prefix>-labels-idx1-ubyte, n examples of 28x28 with labels i % 10 and
 * class-dependent pixels (learnable); salt varies the pixels. */
void files_write_idx(const char *dir, const char *prefix, int n, int salt);

#endif
