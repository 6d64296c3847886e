/* test_cli.c — `hgbench hypergrad`: the flag parser and every refusal, the
 * JSON and .npy writers, and the real binary end to end on tiny synthetic
 * problems (and a tiny IDX set the test writes): exit statuses, the JSON's
 * keys, one seed twice giving the same bytes, bptt = forward through the
 * command line, and --export: every file, each .npy header and size, the
 * batches, and a replay of the exported problem that reproduces the run's
 * validation loss (and, in float64, its hypergradient by central finite
 * differences) from the exported files alone.
 *
 * The binary is build/<config>/hgbench beside this test's folder
 * (build/<config>/tests/test_cli); the launcher test uses build/hgbench and
 * is skipped, loudly, when the launcher or a precision's binary is missing.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli/cli_hypergrad.h"
#include "../common/flags.h"
#include "../io/json_writer.h"
#include "../io/npy.h"
#include "../common/mem.h"
#include "../engines/engine.h"
#include "support_files.h"
#include "test.h"

/* TOL_ENGINES: bptt = forward through the command line, per kind; about 10x
 * the gap measured (lr, mom, wd: 4.1e-16, 4.8e-16, 2.1e-16 in float64;
 * 1.5e-8, 1.8e-9, 7.6e-8 in float32) */
#ifdef HG_F64
#define TOL_ENGINES 5e-15
#define TOL_REPLAY 1e-12
#define REAL_DESCR "<f8"
#else
#define TOL_ENGINES 8e-7
#define TOL_REPLAY 1e-5
#define REAL_DESCR "<f4"
#endif

/* ------------------------------------------------------------ helpers */

static Run run_hgbench(const char *args)
{
    return run_bin("hgbench", args);
}

/* A run expected to succeed: reports the stderr when it does not. */
static int run_ok(const char *args, Run *r)
{
    *r = run_hgbench(args);
    if (r->status != 0) {
        test_fail_at(__FILE__, __LINE__, "hgbench %s: exit %d: %s", args, r->status, r->err);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ a JSON reader
 * (validating: the JSON grammar of RFC 8259, enough to find members) */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *skip_value(const char *p, int depth);

static const char *skip_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *skip_digits(const char *p)
{
    if (*p < '0' || *p > '9')
        return NULL;
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

static const char *skip_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (!(p = skip_digits(p)))
        return NULL;
    if (*p == '.' && !(p = skip_digits(p + 1)))
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(p = skip_digits(p)))
            return NULL;
    }
    return p;
}

static const char *skip_value(const char *p, int depth)
{
    p = ws(p);
    if (depth > 64)
        return NULL;
    if (*p == '{' || *p == '[') {
        const char close = *p == '{' ? '}' : ']';
        const int object = *p == '{';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                if (!(p = skip_string(ws(p))))
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = skip_value(p, depth + 1)))
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return skip_string(p);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    return skip_number(p);
}

static int json_valid(const char *text)
{
    const char *p = skip_value(text, 0);
    return p && *ws(p) == '\0';
}

/* The value of member `key` of the object at obj (valid JSON), or NULL. */
static const char *json_get(const char *obj, const char *key)
{
    const char *p = ws(obj);
    if (!p || *p != '{')
        return NULL;
    p = ws(p + 1);
    const size_t klen = strlen(key);
    while (*p == '"') {
        const char *end = skip_string(p);
        const int match = (size_t)(end - p) == klen + 2 && !strncmp(p + 1, key, klen);
        p = ws(ws(end) + 1); /* past ':' */
        if (match)
            return p;
        p = ws(skip_value(p, 0));
        if (*p == ',')
            p = ws(p + 1);
    }
    return NULL;
}

/* The numbers of the array at arr into out (up to cap); their count or -1. */
static int json_numbers(const char *arr, double *out, int cap)
{
    const char *p = arr ? ws(arr) : NULL;
    if (!p || *p != '[')
        return -1;
    int n = 0;
    p = ws(p + 1);
    if (*p == ']')
        return 0;
    for (;;) {
        char *end;
        const double v = strtod(p, &end);
        if (end == p || n == cap)
            return -1;
        out[n++] = v;
        p = ws(end);
        if (*p == ']')
            return n;
        if (*p != ',')
            return -1;
        p = ws(p + 1);
    }
}

static double json_number(const char *obj, const char *key)
{
    const char *v = json_get(obj, key);
    return v ? strtod(v, NULL) : NAN;
}

static int json_is_string(const char *obj, const char *key, const char *want)
{
    const char *v = json_get(obj, key);
    const size_t len = strlen(want);
    return v && *v == '"' && !strncmp(v + 1, want, len) && v[len + 1] == '"';
}

/* ------------------------------------------------------------ an .npy reader */

typedef struct Npy {
    char descr[8];
    int ndim;
    long shape[NPY_MAX_DIMS];
    long count;
    unsigned char *file; /* the whole file */
    const unsigned char *data;
} Npy;

/* Reads and checks an .npy file: magic, version 1.0, header length and
 * padding, descr, fortran_order False, shape, and file size = header +
 * count * itemsize. why gets the first problem. */
static int tnpy_read(const char *path, Npy *a, char *why, size_t cap)
{
    memset(a, 0, sizeof *a);
    size_t len;
    unsigned char *f = (unsigned char *)files_slurp(path, &len);
    if (!f) {
        snprintf(why, cap, "%s: cannot read", path);
        return -1;
    }
    a->file = f;
    if (len < 10 || memcmp(f, "\x93NUMPY", 6) || f[6] != 1 || f[7] != 0) {
        snprintf(why, cap, "%s: bad magic or version", path);
        return -1;
    }
    const size_t hl = (size_t)f[8] | (size_t)f[9] << 8;
    if ((10 + hl) % 64 || 10 + hl > len || f[10 + hl - 1] != '\n') {
        snprintf(why, cap, "%s: header length %zu not padded to 64 or not ending in newline",
                 path, hl);
        return -1;
    }
    char header[65536 + 1];
    memcpy(header, f + 10, hl);
    header[hl] = '\0';
    const char *d = strstr(header, "'descr': '"), *fo = strstr(header, "'fortran_order': False"),
               *s = strstr(header, "'shape': (");
    if (header[0] != '{' || !d || !fo || !s) {
        snprintf(why, cap, "%s: header dict '%.200s'", path, header);
        return -1;
    }
    snprintf(a->descr, sizeof a->descr, "%.3s", d + 10);
    const char *p = s + 10;
    a->count = 1;
    while (*p != ')') {
        char *end;
        const long v = strtol(p, &end, 10);
        if (end == p || a->ndim == NPY_MAX_DIMS) {
            snprintf(why, cap, "%s: bad shape in '%.200s'", path, header);
            return -1;
        }
        a->shape[a->ndim++] = v;
        a->count *= v;
        p = end;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    const size_t item = !strcmp(a->descr, "<f4") ? 4 : 8;
    if (len != 10 + hl + (size_t)a->count * item) {
        snprintf(why, cap, "%s: %zu bytes, expected %zu", path, len,
                 10 + hl + (size_t)a->count * item);
        return -1;
    }
    a->data = f + 10 + hl;
    return 0;
}

/* Reads path and checks descr and shape (a -1 in want matches any size). */
static int tnpy_expect(const char *path, const char *descr, int ndim, const long *want, Npy *a)
{
    char why[512];
    if (tnpy_read(path, a, why, sizeof why)) {
        test_fail_at(__FILE__, __LINE__, "%s", why);
        return 0;
    }
    int ok = !strcmp(a->descr, descr) && a->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = want[d] < 0 || a->shape[d] == want[d];
    if (!ok) {
        test_fail_at(__FILE__, __LINE__, "%s: dtype %s ndim %d (shape %ld, %ld), expected %s "
                     "ndim %d (shape %ld, %ld)", path, a->descr, a->ndim, a->shape[0],
                     a->ndim > 1 ? a->shape[1] : 0, descr, ndim, want[0],
                     ndim > 1 ? want[1] : 0);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ parser */

static int parse_words(const char *args, HypergradOptions *o, HgErr *err)
{
    static char copy[1024]; /* the options point into it until the next call */
    char *argv[64], *save = NULL;
    int argc = 0;
    argv[argc++] = "hypergrad";
    snprintf(copy, sizeof copy, "%s", args);
    for (char *tok = strtok_r(copy, " ", &save); tok && argc < 63;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    err->msg[0] = '\0';
    return hypergrad_parse(argc, argv, o, err);
}

static void test_parse_defaults(void)
{
    HypergradOptions o;
    HgErr err;
    EXPECT(parse_words("", &o, &err) == 0, "no flags: '%s'", err.msg);
    EXPECT(!strcmp(o.engine, "bptt") && !strcmp(o.model, "lenet") &&
               !strcmp(o.data, "fashion-mnist") && !o.data_dir,
           "defaults: engine %s model %s data %s", o.engine, o.model, o.data);
    EXPECT(o.steps == 100 && o.batch == 128 && o.val == 10000, "defaults: T %d B %d val %d",
           o.steps, o.batch, o.val);
    EXPECT(o.K[HYPER_LR] == 1 && o.K[HYPER_MOM] == 0 && o.K[HYPER_WD] == 0,
           "default learn lr:1: %d %d %d", o.K[0], o.K[1], o.K[2]);
    EXPECT(o.lr == 0.1 && o.mom == 0.9 && o.wd == 5e-4 && o.clamp == 0,
           "defaults: lr %g mom %g wd %g clamp %g", o.lr, o.mom, o.wd, o.clamp);
    EXPECT(o.schedule == SCHEDULE_CONSTANT && o.precision == HG_PRECISION && o.seed == 0 &&
               o.batch_seed == hypergrad_batch_seed(0) && o.val_seed == 1 && o.threads == 2 &&
               o.init == INIT_XAVIER && o.opt.truncate == 0 && !o.opt.greedy_on_train &&
               o.opt.greedy_online_lr == 0 && o.perturb_w0 == 0 && !o.json && !o.export_dir &&
               !o.help,
           "other defaults");
    EXPECT(o.input.c == 1 && o.input.h == 28 && o.input.w == 28 && o.classes == 10 &&
               !o.synthetic, "fashion-mnist shape");
    EXPECT(hypergrad_batch_seed(0) != 0 && hypergrad_batch_seed(0) != hypergrad_batch_seed(1),
           "derived batch seeds");
}

static void test_parse_flags(void)
{
    HypergradOptions o;
    HgErr err;
    char args[512];
    snprintf(args, sizeof args,
             "--engine forward --model=mlp:32,16:relu --data synthetic:3x8x8 --steps 20 "
             "--batch=4 --val 16 --learn lr:T,mom:4,wd:1 --lr 0.05 --mom=0.5 --wd 0 "
             "--schedule cosine --clamp 1.5 --precision %d --seed 7 --val-seed 9 "
             "--init normal:0.02 --threads 1 --json x.json --export exp",
             HG_PRECISION);
    EXPECT(parse_words(args, &o, &err) == 0, "'%s': %s", args, err.msg);
    EXPECT(o.steps == 20 && o.batch == 4 && o.val == 16 && o.K[HYPER_LR] == 20 &&
               o.K[HYPER_MOM] == 4 && o.K[HYPER_WD] == 1,
           "T %d B %d val %d K %d %d %d", o.steps, o.batch, o.val, o.K[0], o.K[1], o.K[2]);
    EXPECT(o.lr == 0.05 && o.mom == 0.5 && o.wd == 0 && o.clamp == 1.5 &&
               o.schedule == SCHEDULE_COSINE && o.init == INIT_NORMAL && o.init_sigma == 0.02,
           "numbers");
    EXPECT(o.seed == 7 && o.batch_seed == hypergrad_batch_seed(7) && o.val_seed == 9 &&
               o.threads == 1, "seeds and threads");
    EXPECT(o.synthetic && o.input.c == 3 && o.input.h == 8 && o.input.w == 8,
           "synthetic shape %dx%dx%d", o.input.c, o.input.h, o.input.w);
    EXPECT(parse_words("--seed 7 --batch-seed 11 --data synthetic:64 --model logreg", &o,
                       &err) == 0 && o.batch_seed == 11 && o.seed == 7 &&
               o.input.c == 64 && o.input.h == 1,
           "--batch-seed overrides: %s", err.msg);
    EXPECT(parse_words("--engine bptt --truncate 5 --steps 10 --learn none", &o, &err) == 0 &&
               o.opt.truncate == 5 && o.K[0] + o.K[1] + o.K[2] == 0,
           "truncate, learn none: %s", err.msg);
    EXPECT(parse_words("--engine greedy --greedy-target train --greedy-online-lr 0.01", &o,
                       &err) == 0 && o.opt.greedy_on_train && o.opt.greedy_online_lr == 0.01,
           "greedy flags: %s", err.msg);
#ifdef HG_F64
    EXPECT(parse_words("--round-noise sr32", &o, &err) == 0 &&
               hypergrad_problem_spec(&o).round_noise == ROUND_NOISE_SR32,
           "--round-noise reaches the problem spec: %s", err.msg);
#else
    EXPECT(parse_words("--round-noise sr32", &o, &err) == -1 && strstr(err.msg, "float32 build"),
           "--round-noise in a float32 build: refused: %s", err.msg);
#endif
    EXPECT(parse_words("--perturb-w0 1e-7", &o, &err) == 0 && o.perturb_w0 == 1e-7 &&
               hypergrad_problem_spec(&o).perturb_w0 == 1e-7,
           "--perturb-w0 reaches the problem spec: %s", err.msg);
    EXPECT(parse_words("--steps 5 --steps 7 --help", &o, &err) == 0 && o.help && o.steps == 7,
           "last wins, --help: %s", err.msg);
    EXPECT(parse_words("--device auto", &o, &err) == 0 && !strcmp(o.device, "auto") &&
               parse_words("", &o, &err) == 0 && !strcmp(o.device, "cpu"),
           "--device auto (the CPU for now), default cpu: %s", err.msg);
    EXPECT(parse_words("--data cifar10 --model lenet", &o, &err) == 0 && o.input.c == 3 &&
               o.input.h == 32, "cifar10 lenet: %s", err.msg);
}

static void test_parse_refusals(void)
{
    char other[64];
    snprintf(other, sizeof other, "--precision %d", HG_PRECISION == 32 ? 64 : 32);
    const struct { const char *args, *want; } cases[] = {
        {"--nope", "unknown flag '--nope'"},
        {"--steps abc", "--steps 'abc': not an integer"},
        {"--steps 10x", "--steps '10x': not an integer"},
        {"--batch 1e3", "--batch '1e3': not an integer"},
        {"--lr 0.1.2", "--lr '0.1.2': not a number"},
        {"--lr nan", "--lr nan: must be finite"},
        {"--steps", "flag --steps needs a value"},
        {"--json --steps 5", "flag --json needs a value"},
        {"--steps 0", "--steps 0: out of range"},
        {"--steps 99999999999", "--steps 99999999999: out of range"},
        {"--batch -3", "--batch -3: out of range"},
        {"--mom 1.5", "--mom 1.5: out of range"},
        {"--lr -0.1", "--lr -0.1: out of range"},
        {"--clamp -1", "--clamp -1: out of range"},
        {"--threads 0", "--threads 0: out of range"},
        {"--perturb-w0 -1e-7", "--perturb-w0 -1e-7: out of range"},
        {"--perturb-w0 2", "--perturb-w0 2: out of range"},
        {"--round-noise sr16", "--round-noise 'sr16': must be off or sr32"},
        {"--steps 10 --learn lr:11", "K > T"},
        {"--learn lr:3 --steps 2", "K > T"},
        {"--learn foo:1", "unknown kind 'foo'"},
        {"--learn lr", "needs a count"},
        {"--learn lr:", "needs a count"},
        {"--learn lr:1,lr:2", "lr is given twice"},
        {"--learn lr:0", "K must be in 1..T"},
        {"--learn mom:x", "must be an integer in 1..T"},
        {"--learn=", "--learn '': empty"},
        {"--engine adjoint", "--engine 'adjoint': unknown engine (registered: "},
        {"--model resnet", "--model 'resnet'"},
        {"--model mlp:0", "bad hidden layer list"},
        {"--model lenet --data synthetic:64", "lenet: needs 28x28 or 32x32"},
        {"--data imagenet", "--data 'imagenet': unknown data set"},
        {"--data synthetic:3x4", "a synthetic shape is CxHxW or D"},
        {"--data synthetic:3x", "a synthetic shape is CxHxW or D"},
        {"--data synthetic:", "a synthetic shape is CxHxW or D"},
        {"--data synthetic:1x2x3x4", "a synthetic shape is CxHxW or D"},
        {"--data synthetic:8:8", "a synthetic shape is CxHxW or D"},
        {"--data synthetic:0", "each dimension must be in [1, 4096]"},
        {"--data synthetic --data-dir /tmp", "--data-dir /tmp: --data synthetic is generated"},
        {"--engine forward --learn none", "nothing is learned"},
        {"--engine greedy --truncate 3", "--truncate: only for --engine bptt (--engine greedy)"},
        {"--engine forward --truncate 0", "--truncate: only for --engine bptt (--engine forward)"},
        {"--steps 5 --truncate 6", "--truncate 6: more than the 5 steps"},
        {"--greedy-target train", "--greedy-target: only for --engine greedy"},
        {"--engine bptt --greedy-online-lr 0.1", "--greedy-online-lr: only for --engine greedy"},
        {"--engine greedy --greedy-target best", "--greedy-target 'best': must be val or train"},
        {"--engine greedy --greedy-online-lr 0.1 --export d", "--export with --greedy-online-lr"},
        {"--precision 16", "--precision '16': must be 32 or 64"},
        {other, "this binary is built for " HG_REAL_NAME},
        {"--schedule linear", "--schedule 'linear': unknown"},
        {"--init he", "--init 'he': unknown"},
        {"--init normal:-1", "--init normal:SIGMA -1: out of range"},
        {"--seed -1", "--seed '-1': not a seed"},
        {"--seed 99999999999999999999999", "--seed 99999999999999999999999: out of range"},
        {"stray", "unexpected argument 'stray'"},
        {"--help=yes", "flag --help takes no value"},
        {"--kahan=1", "flag --kahan takes no value"},
        {"--engine reversible --kahan", "--kahan"},
        {"--kahan --export d", "--export with --kahan"},
        {"--device cuda", "--device cuda: this binary was built without the CUDA backend"},
        {"--device gpu", "--device 'gpu'"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        HypergradOptions o;
        HgErr err;
        const int rc = parse_words(cases[i].args, &o, &err);
        EXPECT(rc == -1 && strstr(err.msg, cases[i].want), "'%s': rc %d, message '%s', want '%s'",
               cases[i].args, rc, err.msg, cases[i].want);
    }
}

static void test_usage(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    hypergrad_usage(f);
    fclose(f);
    static const char *const flags[] = {
        "--engine", "--model", "--data", "--data-dir", "--device", "--steps", "--batch", "--val",
        "--learn", "--lr", "--mom", "--wd", "--schedule", "--clamp", "--precision", "--seed",
        "--batch-seed", "--val-seed", "--init", "--threads", "--truncate", "--greedy-target",
        "--greedy-online-lr", "--json", "--export", "--help"};
    for (int i = 0; i < ARRAY_LEN(flags); i++) {
        char line[64];
        snprintf(line, sizeof line, "\n  %s ", flags[i]);
        EXPECT(strstr(text, line), "usage lacks %s", flags[i]);
    }
    int defaults = 0;
    for (const char *p = text; (p = strstr(p, "(default")); p++)
        defaults++;
    EXPECT(defaults >= ARRAY_LEN(flags) - 1, "usage states %d defaults", defaults);
    EXPECT(strstr(text, engine_names()), "usage lists the engines");
    free(text);
}

/* ------------------------------------------------------------ writers */

static void test_json_writer(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    JsonWriter j;
    json_init(&j, f);
    json_object_begin(&j, 0);
    json_key(&j, "s");
    json_put_string(&j, "a\"b\\c\nd\x01\x7f\xc3\xa9");
    json_key(&j, "x");
    json_double(&j, 0.1);
    json_key(&j, "bad");
    json_doubles(&j, (double[]){NAN, INFINITY, -0.0, 1e-300}, 4);
    json_key(&j, "nested");
    json_object_begin(&j, 1);
    json_key(&j, "a");
    json_array_begin(&j, 0);
    json_array_end(&j);
    json_key(&j, "n");
    json_put_null(&j);
    json_object_end(&j);
    json_key(&j, "big");
    json_uint(&j, UINT64_MAX);
    json_object_end(&j);
    fclose(f);
    EXPECT(json_valid(text), "not valid JSON:\n%s", text);
    EXPECT(strstr(text, "\"a\\\"b\\\\c\\nd\\u0001\\u007f\xc3\xa9\""), "escapes: %s", text);
    EXPECT(strstr(text, "\"x\": 0.10000000000000001"), "%%.17g: %s", text);
    EXPECT(strstr(text, "[null, null, -0, 1e-300]"), "non-finite: %s", text);
    EXPECT(strstr(text, "{\"a\": [], \"n\": null}"), "inline object: %s", text);
    EXPECT(json_number(text, "x") == 0.1 && json_get(json_get(text, "nested"), "n"),
           "the test's reader");
    free(text);
}

static void test_npy_writer(void)
{
    files_setup("cli");
    char buf[1024];
    const long shapes[][4] = {{5}, {3, 4}, {2, 1, 28, 28}, {0}};
    const int ndims[] = {1, 2, 4, 0};
    const char *const dicts[] = {
        "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 28, 28), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"};
    for (int i = 0; i < 4; i++) {
        const long n = npy_header(buf, sizeof buf, NPY_F8, shapes[i], ndims[i]);
        EXPECT(n > 0 && n % 64 == 0 && buf[n - 1] == '\n' && !memcmp(buf, "\x93NUMPY\x01\x00", 8) &&
                   (buf[8] & 0xff) + 256 * (buf[9] & 0xff) == n - 10 &&
                   !strncmp(buf + 10, dicts[i], strlen(dicts[i])),
               "header %d: length %ld '%s'", i, n, buf + 10);
    }
    EXPECT(npy_header(buf, sizeof buf, "<c8", shapes[0], 1) == -1, "unknown descr accepted");

    const double v[6] = {1, 2, 3, 4, 5, 6};
    HgErr err;
    Npy a = {0};
    if (npy_write(files_tmp("a.npy"), NPY_F8, (long[]){2, 3}, 2, v, &err) == 0 &&
        tnpy_expect(files_tmp("a.npy"), "<f8", 2, (long[]){2, 3}, &a))
        EXPECT(!memcmp(a.data, v, sizeof v), "data");
    else
        EXPECT(0, "npy_write: %s", err.msg);
    free(a.file);
    NpyFile nf;
    EXPECT(npy_begin(&nf, files_tmp("short.npy"), NPY_F8, (long[]){4}, 1, &err) == 0 &&
               npy_append(&nf, v, 3, &err) == 0 && npy_end(&nf, &err) == -1 &&
               strstr(err.msg, "3 of 4 elements") && access(files_tmp("short.npy"), F_OK) != 0 &&
               access(nf.out.tmp, F_OK) != 0,
           "a short array must fail and leave no file: '%s'", err.msg);
}

/* ------------------------------------------------------------ the binary */

static void test_binary_usage_and_refusals(void)
{
    files_setup("cli");
    Run r = run_hgbench("--help");
    EXPECT(r.status == 0 && strstr(r.out, "hypergrad"), "hgbench --help: %d", r.status);
    run_free(&r);
    r = run_hgbench("hypergrad --help");
    EXPECT(r.status == 0 && strstr(r.out, "--greedy-online-lr") && strstr(r.out, "(default"),
           "hgbench hypergrad --help: %d", r.status);
    run_free(&r);
    r = run_hgbench("");
    EXPECT(r.status == 2 && strstr(r.err, "usage"), "no command: %d", r.status);
    run_free(&r);
    r = run_hgbench("frobnicate");
    EXPECT(r.status == 2 && strstr(r.err, "unknown command 'frobnicate'"), "bad command: %d",
           r.status);
    run_free(&r);

    char other[128];
    snprintf(other, sizeof other, "hypergrad --precision %d", HG_PRECISION == 32 ? 64 : 32);
    const struct { const char *args, *want; } cases[] = {
        {"hypergrad --nope", "unknown flag '--nope'"},
        {"hypergrad --steps", "flag --steps needs a value"},
        {"hypergrad --steps 1O", "--steps '1O': not an integer"},
        {"hypergrad --steps 100 --learn lr:200", "K > T"},
        {"hypergrad --learn momentum:1", "unknown kind 'momentum'"},
        {"hypergrad --engine adjoint", "--engine 'adjoint': unknown engine"},
        {"hypergrad --model vgg", "--model 'vgg'"},
        {"hypergrad --data imagenet", "--data 'imagenet'"},
        {"hypergrad --engine forward --learn none", "nothing is learned"},
        {"hypergrad --engine greedy --truncate 2", "--truncate"},
        {other, "this binary is built for"},
        {"hypergrad --data synthetic:8 --model logreg --json /nonexistent-dir/x.json",
         "--json /nonexistent-dir/x.json: cannot write in folder"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        r = run_hgbench(cases[i].args);
        EXPECT(r.status == 2 && strstr(r.err, cases[i].want) && !r.out[0] &&
                   !strstr(r.err, "memory estimate"),
               "'%s': exit %d, stdout '%s', stderr '%s' (want exit 2, '%s', no work)",
               cases[i].args, r.status, r.out, r.err, cases[i].want);
        run_free(&r);
    }
}

/* The memory estimate is printed, then the run refused, before any work. */
static void test_bptt_memory_refusal(void)
{
    files_setup("cli");
    Run r = run_hgbench("hypergrad --engine bptt --model mlp --data synthetic --steps 10000000 "
                        "--batch 1 --val 1");
    const char *est = strstr(r.err, "bptt memory estimate: ");
    const char *ref = strstr(r.err, "refused: bptt: the trajectory");
    EXPECT(r.status == 1 && est && ref && est < ref && strstr(ref, "GiB") &&
               strstr(est, "2 T P = 2 x 10000000 x 203530 reals") && !r.out[0],
           "huge bptt: exit %d, stdout '%s', stderr '%s'", r.status, r.out, r.err);
    run_free(&r);
    /* a small run prints the estimate too */
    if (run_ok("hypergrad --engine bptt --model logreg --data synthetic:8 --steps 3 --batch 4 "
               "--val 4 --threads 1", &r))
        EXPECT(strstr(r.err, "bptt memory estimate: ") && strstr(r.err, "2 x 3 x 90 reals"),
               "estimate: '%s'", r.err);
    run_free(&r);
}

static void test_engine_error_exit1(void)
{
    files_setup("cli");
    Run r = run_hgbench("hypergrad --model mlp:16:relu --data synthetic:16 --lr 1e200 --steps 30 "
                        "--batch 8 --val 8 --threads 1");
    EXPECT(r.status == 1 && (strstr(r.err, "diverged") || strstr(r.err, "not finite")) &&
               !r.out[0], "lr 1e200: exit %d, stderr '%s'", r.status, r.err);
    run_free(&r);
}

#define SMALL "--data synthetic:16 --model logreg --steps 12 --batch 8 --val 24 --threads 1 "

static const char *const REQUIRED_KEYS[] = {
    "engine", "model", "steps", "batch", "precision", "seed", "val_loss", "val_acc",
    "hypergrad", "per_step", "time_s", "mem"};

/* The hypergrad arrays of a result JSON, in theta order; their count. */
static int json_hypergrad(const char *json, double *out, int cap)
{
    const char *h = json_get(json, "hypergrad");
    int n = 0;
    for (int k = 0; k < HYPER_KINDS && h; k++) {
        const char *a = json_get(h, hyper_kind_name(k));
        const int got = a ? json_numbers(a, out + n, cap - n) : 0;
        if (got < 0)
            return -1;
        n += got;
    }
    return h ? n : -1;
}

/* Every registered engine through the command line, with its JSON. */
static void test_engines_json(void)
{
    files_setup("cli");
    char names[256], *save = NULL;
    snprintf(names, sizeof names, "%s", engine_names());
    double hg_bptt[8] = {0}, hg_fwd[8] = {0};
    int have_bptt = 0, have_fwd = 0;
    for (char *e = strtok_r(names, ", ", &save); e; e = strtok_r(NULL, ", ", &save)) {
        char args[512];
        const int ck = engine_takes(engine_find(e), "--checkpoints");
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:3,mom:2,wd:1 --engine %s "
                 "%s--json %s", e, ck ? "--checkpoints 3 " : "", files_tmp("r.json"));
        Run r;
        if (!run_ok(args, &r)) {
            run_free(&r);
            continue;
        }
        char *js = files_slurp(files_tmp("r.json"), NULL);
        if (!js || !json_valid(js)) {
            EXPECT(0, "%s: --json is not valid JSON:\n%s", e, js ? js : "(none)");
            free(js);
            run_free(&r);
            continue;
        }
        for (int i = 0; i < ARRAY_LEN(REQUIRED_KEYS); i++)
            EXPECT(json_get(js, REQUIRED_KEYS[i]), "%s: JSON lacks '%s'", e, REQUIRED_KEYS[i]);
        EXPECT(json_is_string(js, "engine", e) && json_is_string(js, "model", "logreg") &&
                   json_number(js, "steps") == 12 && json_number(js, "batch") == 8 &&
                   json_is_string(js, "precision", HG_REAL_NAME) && json_number(js, "seed") == 0,
               "%s: JSON fields", e);
        const char *mem = json_get(js, "mem");
        for (int t = 0; mem && t < MEM_NTAGS; t++)
            EXPECT(json_get(mem, mem_tag_name(t)), "%s: mem lacks %s", e, mem_tag_name(t));
        EXPECT(mem && json_get(mem, "peak_rss"), "%s: mem lacks peak_rss", e);
        if (!strcmp(e, "reversible"))
            EXPECT(mem && json_get(mem, "infobuf_bytes") && json_get(mem, "infobuf_floor_bytes") &&
                       strstr(r.out, "infobuf"),
                   "reversible: infobuf bytes missing");
        const char *h = json_get(js, "hypergrad");
        double v[64];
        EXPECT(h && json_numbers(json_get(h, "lr"), v, 64) == 3 &&
                   json_numbers(json_get(h, "mom"), v, 64) == 2 &&
                   json_numbers(json_get(h, "wd"), v, 64) == 1,
               "%s: hypergrad shape", e);
        const char *ps = json_get(js, "per_step");
        if (ps && *ps == '{')
            for (int k = 0; k < HYPER_KINDS; k++) {
                const char *a = json_get(ps, hyper_kind_name(k));
                EXPECT(!a || json_numbers(a, v, 64) == 12, "%s: per_step %s length", e,
                       hyper_kind_name(k));
            }
        else
            EXPECT(ps && !strncmp(ps, "null", 4), "%s: per_step neither object nor null", e);
        if (!strcmp(e, "bptt"))
            have_bptt = json_hypergrad(js, hg_bptt, 8) == 6;
        if (!strcmp(e, "forward"))
            have_fwd = json_hypergrad(js, hg_fwd, 8) == 6;
        if (ck) { /* after bptt in the registry: its bytes, through the JSON's %.17g */
            double hg[8];
            EXPECT(have_bptt && json_hypergrad(js, hg, 8) == 6 && !memcmp(hg, hg_bptt, sizeof hg[0] * 6) &&
                       json_number(js, "checkpoints") == 3 &&
                       json_number(js, "recomputed_steps") == checkpoint_binomial_advances(12, 3),
                   "checkpoint: bptt's hypergradient, 3 checkpoints, the binomial recomputation");
        }
        EXPECT(strstr(r.out, "hypergrad") && strstr(r.out, "val loss"), "%s: summary '%s'", e,
               r.out);
        free(js);
        run_free(&r);
    }
    EXPECT(have_bptt && have_fwd, "bptt and forward results");
    if (have_bptt && have_fwd) {
        /* --learn lr:3,mom:2,wd:1: each kind against its own scale */
        static const int off[] = {0, 3, 5, 6};
        for (int k = 0; k < HYPER_KINDS; k++) {
            const double e = max_rel_err_d(hg_bptt + off[k], hg_fwd + off[k], off[k + 1] - off[k], 0);
            EXPECT(e <= TOL_ENGINES, "bptt vs forward through the CLI, %s: max rel err %.3g",
                   hyper_kind_name(k), e);
            printf("#   bptt vs forward through the CLI, %s: %.2g\n", hyper_kind_name(k), e);
        }
    }
}

/* The first entry of an hpo log's "log" array, or NULL. */
static const char *hpo_first_entry(const char *json)
{
    const char *log = json_get(json, "log");
    return log && *log == '[' ? ws(log + 1) : NULL;
}

/* Every option an engine declares, set to other than its default, reaches
 * the engine the same way in hypergrad and in hpo (both through the run
 * builder): the JSON members say the values given, and hpo's outer step 0
 * (theta_0, the same run) has hypergrad's hypergradient bit for bit. The
 * regression of `hpo --engine checkpoint --checkpoints 3`, which ran with
 * C = 0 and failed every outer step. */
static void test_engine_options_reach_hpo(void)
{
    files_setup("cli");
    int engines_with_options = 0;
    for (int e = 0; engine_at(e); e++) {
        const EngineOps *ops = engine_at(e);
        if (!ops->options || !ops->options[0].flag)
            continue;
        engines_with_options++;
        char flags[512] = "", values[8][64];
        int n = 0;
        for (const EngineOption *x = ops->options; x->flag && n < 8; x++, n++) {
            EngineSettings set = engine_settings_defaults();
            double v = x->kind == ENGINE_OPTION_REAL ? 0.01 : x->kind == ENGINE_OPTION_INT ? 3 : 1;
            if (v == x->def)
                v = x->def + 1; /* a choice's next name, an int's next value */
            if (x->kind == ENGINE_OPTION_REAL)
                *(double *)((char *)&set + x->field) = v;
            else
                *(int *)((char *)&set + x->field) = (int)v;
            engine_option_text(x, &set, values[n], sizeof values[n]);
            snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%s %s ", x->flag,
                     values[n]);
        }
        char args[1024], hg_json[300], hpo_json[300];
        snprintf(hg_json, sizeof hg_json, "%s", files_tmp("hg.json"));
        snprintf(hpo_json, sizeof hpo_json, "%s", files_tmp("hpo.json"));
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:3 --engine %s %s--json %s",
                 ops->name, flags, hg_json);
        Run r;
        const int hg_ok = run_ok(args, &r);
        run_free(&r);
        snprintf(args, sizeof args, "hpo " SMALL "--learn lr:3 --engine %s %s--outer-steps 1 "
                 "--json %s", ops->name, flags, hpo_json);
        const int hpo_ok = run_ok(args, &r);
        run_free(&r);
        if (!hg_ok || !hpo_ok)
            continue;
        char *a = files_slurp(hg_json, NULL), *b = files_slurp(hpo_json, NULL);
        EXPECT(a && b && json_valid(a) && json_valid(b), "%s: JSON not valid", ops->name);
        n = 0;
        for (const EngineOption *x = ops->options; a && b && x->flag && n < 8; x++, n++)
            for (int which = 0; which < 2; which++) {
                const char *js = which ? b : a;
                const int same = x->kind == ENGINE_OPTION_CHOICE
                                     ? json_is_string(js, x->json, values[n])
                                     : json_number(js, x->json) == strtod(values[n], NULL);
                EXPECT(same, "%s %s: %s's JSON member %s is not %s", ops->name, x->flag,
                       which ? "hpo" : "hypergrad", x->json, values[n]);
            }
        const char *first = b ? hpo_first_entry(b) : NULL;
        double g_hg[8], g_hpo[8];
        EXPECT(first && json_is_string(first, "status", "ok") &&
                   json_hypergrad(a, g_hg, 8) == 3 && json_hypergrad(first, g_hpo, 8) == 3 &&
                   !memcmp(g_hg, g_hpo, sizeof g_hg[0] * 3),
               "%s with %s: hpo's outer step 0 is not hypergrad's run (status ok, the same "
               "hypergradient bit for bit)", ops->name, flags);
        free(a);
        free(b);
    }
    EXPECT(engines_with_options >= 3, "only %d engines declare options", engines_with_options);
}

/* The flag entries made from the engines' declarations: one per option, in
 * the registry's order, each writing its EngineSettings field. */
static void test_engine_flags_from_declarations(void)
{
    Flag table[ENGINE_OPTIONS_MAX + 1];
    memset(table, 0, sizeof table);
    EngineSettings set = engine_settings_defaults();
    int given[ENGINE_OPTIONS_MAX] = {0};
    const int n = engine_flags(table, ENGINE_OPTIONS_MAX, &set, given);
    int count = 0;
    while (engine_option_at(count, NULL))
        count++;
    EXPECT(n == count && n > 0, "%d flag entries for %d declared options", n, count);
    HgErr err = {{0}};
    char *argv[] = {"x", "--checkpoints", "4", "--greedy-target", "train", NULL};
    EXPECT(flags_parse(table, 5, argv, &err) == 0 && set.checkpoints == 4 &&
               set.greedy_on_train == 1 && set.truncate == 0,
           "parsed through the generated table: %s", err.msg);
    const unsigned asked = engine_options_given(given);
    for (int i = 0; i < n; i++) {
        const int want = !strcmp(table[i].name, "--checkpoints") ||
                         !strcmp(table[i].name, "--greedy-target");
        EXPECT(((asked >> i) & 1) == (unsigned)want, "%s: given bit %u", table[i].name,
               (asked >> i) & 1);
    }
    EXPECT(engine_options_set(&set) == asked, "the values set are the flags given");
}

/* The text of the "hypergrad" and "per_step" members (to compare bytes). */
static char *hypergrad_text(const char *json)
{
    const char *a = json_get(json, "hypergrad"), *b = json_get(json, "per_step");
    if (!a || !b)
        return NULL;
    const char *ae = skip_value(a, 0), *be = skip_value(b, 0);
    char *s = malloc((size_t)(ae - a) + (size_t)(be - b) + 2);
    sprintf(s, "%.*s|%.*s", (int)(ae - a), a, (int)(be - b), b);
    return s;
}

static void test_same_seed_same_bytes(void)
{
    files_setup("cli");
    char *text[3] = {0};
    for (int i = 0; i < 3; i++) {
        char args[512];
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:T,mom:2 --clamp 0.5 "
                 "--schedule cosine --seed %d --json %s", i == 2 ? 4 : 3, files_tmp("s.json"));
        Run r;
        if (run_ok(args, &r)) {
            char *js = files_slurp(files_tmp("s.json"), NULL);
            text[i] = js ? hypergrad_text(js) : NULL;
            free(js);
        }
        run_free(&r);
    }
    EXPECT(text[0] && text[1] && !strcmp(text[0], text[1]),
           "one seed twice: different hypergradient bytes");
    EXPECT(text[0] && text[2] && strcmp(text[0], text[2]), "seeds 3 and 4: the same bytes");
    for (int i = 0; i < 3; i++)
        free(text[i]);
}

/* One seed and one thread count give identical bytes; another thread count
 * changes only the summation order of the per-thread partial sums (conv
 * weight gradients), so the hypergradients agree to rounding. Measured gap
 * at T = 4 on synthetic LeNet, 1 vs 2 threads: 6.5e-7 (float32), 5e-16
 * (float64) relative per kind; tolerances 10x that. (At T = 1000 on
 * Fashion-MNIST float32 the gap grows to O(1): README, "Threads".) */
#ifdef HG_F64
#define TOL_THREADS 5e-15
#else
#define TOL_THREADS 7e-6
#endif
static void test_thread_counts(void)
{
    files_setup("cli");
    char *js[4] = {0};
    const int threads[4] = {1, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
        char args[512];
        snprintf(args, sizeof args, "hypergrad --model lenet --data synthetic --steps 4 --batch 16 "
                 "--val 32 --learn lr:2,mom:1,wd:1 --threads %d --json %s", threads[i],
                 files_tmp("t.json"));
        Run r;
        if (run_ok(args, &r))
            js[i] = files_slurp(files_tmp("t.json"), NULL);
        run_free(&r);
    }
    char *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = js[i] ? hypergrad_text(js[i]) : NULL;
    EXPECT(t[0] && t[1] && !strcmp(t[0], t[1]), "1 thread twice: different bytes");
    EXPECT(t[2] && t[3] && !strcmp(t[2], t[3]), "2 threads twice: different bytes");
    const char *kinds[3] = {"lr", "mom", "wd"};
    for (int k = 0; k < 3 && js[0] && js[2]; k++) {
        double a[8], b[8];
        const int n = json_numbers(json_get(json_get(js[0], "hypergrad"), kinds[k]), a, 8);
        const int m = json_numbers(json_get(json_get(js[2], "hypergrad"), kinds[k]), b, 8);
        double scale = 0, gap = 0;
        for (int i = 0; i < n && n == m; i++)
            scale = fmax(scale, fabs(a[i])), gap = fmax(gap, fabs(a[i] - b[i]));
        EXPECT(n > 0 && n == m && gap <= TOL_THREADS * scale,
               "%s: 1 vs 2 threads differ by %.3g of its scale %.3g (tol %.1g)", kinds[k],
               scale > 0 ? gap / scale : gap, scale, TOL_THREADS);
    }
    for (int i = 0; i < 4; i++)
        free(js[i]), free(t[i]);
}

/* --kahan runs and is recorded in the JSON (false without it); it changes
 * the run by no more than rounding. */
static void test_kahan_flag(void)
{
    files_setup("cli");
    char *js[2] = {0};
    for (int k = 0; k < 2; k++) {
        char args[512];
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:2 --json %s%s",
                 files_tmp("k.json"), k ? " --kahan" : "");
        Run r;
        if (run_ok(args, &r))
            js[k] = files_slurp(files_tmp("k.json"), NULL);
        run_free(&r);
    }
    const char *off = js[0] ? json_get(js[0], "kahan") : NULL,
               *on = js[1] ? json_get(js[1], "kahan") : NULL;
    EXPECT(off && !strncmp(off, "false", 5) && on && !strncmp(on, "true", 4),
           "JSON kahan: '%.5s' and '%.5s'", off ? off : "-", on ? on : "-");
    if (js[0] && js[1])
        EXPECT(isfinite(json_number(js[1], "val_loss")) &&
                   rel_err(json_number(js[0], "val_loss"), json_number(js[1], "val_loss"), 0) <
                       1e-3,
               "--kahan changed the run by more than rounding: %g vs %g",
               json_number(js[0], "val_loss"), json_number(js[1], "val_loss"));
    free(js[0]);
    free(js[1]);
}

/* --perturb-w0 runs a nudged problem and says so in the JSON (its size and
 * seed; records without it keep their bytes): the validation loss moves,
 * by about the nudge's size, not more. */
static void test_perturb_w0_flag(void)
{
    files_setup("cli");
    char *js[2] = {0};
    for (int k = 0; k < 2; k++) {
        char args[512];
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:2 --json %s%s",
                 files_tmp("p.json"), k ? " --perturb-w0 1e-4" : "");
        Run r;
        if (run_ok(args, &r))
            js[k] = files_slurp(files_tmp("p.json"), NULL);
        run_free(&r);
    }
    EXPECT(js[0] && !json_get(js[0], "perturb_w0") && !json_get(js[0], "perturb_seed"),
           "no --perturb-w0: no perturb keys");
    EXPECT(js[1] && json_get(js[1], "perturb_w0") && json_number(js[1], "perturb_w0") == 1e-4 &&
               json_get(js[1], "perturb_seed"),
           "--perturb-w0 1e-4 recorded with its seed");
    if (js[0] && js[1]) {
        const double l0 = json_number(js[0], "val_loss"), l1 = json_number(js[1], "val_loss");
        EXPECT(l0 != l1 && rel_err(l0, l1, 0) < 1e-2,
               "a 1e-4 nudge of w0 moved val loss from %.17g to %.17g", l0, l1);
    }
    free(js[0]);
    free(js[1]);
}

/* --round-noise sr32: in a float64 build the run is rounded and says so in
 * the JSON (its seed, from --seed; records without it keep their bytes),
 * the validation loss moving by float32's size, not more; a float32 build
 * refuses it as a usage error naming the flag. */
static void test_round_noise_flag(void)
{
    files_setup("cli");
    char *js[2] = {0};
    for (int k = 0; k < 2; k++) {
        char args[512];
        snprintf(args, sizeof args, "hypergrad " SMALL "--learn lr:2 --json %s%s",
                 files_tmp("r.json"), k ? " --round-noise sr32" : "");
#ifdef HG_F64
        Run r;
        if (run_ok(args, &r))
            js[k] = files_slurp(files_tmp("r.json"), NULL);
        run_free(&r);
#else
        if (!k) continue;
        Run r = run_hgbench(args);
        EXPECT(r.status == 2 && strstr(r.err, "--round-noise sr32") &&
                   strstr(r.err, "float32 build"),
               "a float32 build refuses: exit %d, '%s'", r.status, r.err);
        run_free(&r);
#endif
    }
#ifdef HG_F64
    EXPECT(js[0] && !json_get(js[0], "round_noise") && !json_get(js[0], "round_seed"),
           "no --round-noise: no round keys");
    EXPECT(js[1] && json_get(js[1], "round_noise") && json_get(js[1], "round_seed"),
           "--round-noise sr32 recorded with its seed");
    if (js[0] && js[1]) {
        const double l0 = json_number(js[0], "val_loss"), l1 = json_number(js[1], "val_loss");
        /* measured 1.9e-8 relative (logreg, 12 steps) */
        EXPECT(l0 != l1 && rel_err(l0, l1, 0) < 2e-7,
               "rounding every step moved val loss from %.17g to %.17g", l0, l1);
    }
#endif
    free(js[0]);
    free(js[1]);
}

static void test_real_loader_and_val_clip(void)
{
    files_setup("cli");
    const char *dir = files_tmp("idx");
    mkdir(dir, 0755);
    files_write_idx(dir, "train", 40, 0);
    char args[1024];
    snprintf(args, sizeof args, "hypergrad --data mnist --data-dir %s --model logreg --steps 3 "
             "--batch 16 --val 30 --threads 1", dir);
    Run r = run_hgbench(args);
    EXPECT(r.status == 2 && strstr(r.err, "--val 30: --data mnist has 40 training examples") &&
               strstr(r.err, "use --val 24 or less") && !r.out[0],
           "--val too big: exit %d, '%s'", r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "hypergrad --data mnist --data-dir %s --model logreg --steps 3 "
             "--batch 16 --val 8 --threads 1 --json %s", dir, files_tmp("m.json"));
    if (run_ok(args, &r)) {
        char *js = files_slurp(files_tmp("m.json"), NULL);
        EXPECT(js && json_valid(js) && json_number(js, "train_examples") == 32 &&
                   json_number(js, "val_examples") == 8 && json_is_string(js, "data_dir", dir),
               "mnist run JSON");
        free(js);
    }
    run_free(&r);
    r = run_hgbench("hypergrad --data mnist --data-dir /nonexistent-hgbench --model logreg");
    EXPECT(r.status == 3 && strstr(r.err, "/nonexistent-hgbench/train-images-idx3-ubyte"),
           "missing data: exit %d, '%s'", r.status, r.err);
    run_free(&r);
}

/* The exported problem, replayed from its files alone: SGD with the exported
 * schedule over the exported batches from w0; returns the validation loss. */
typedef struct Exported {
    Model *m;
    real *w0, *train_x, *val_x;
    int32_t *train_y, *val_y;
    int64_t *batches;
    int T, B, n_val;
    double *lr, *mom, *wd, clamp;
} Exported;

static double replay(const Exported *e)
{
    const long P = e->m->nparams, dim = shape_size(e->m->input);
    real *w = mem_alloc(MEM_PARAMS, sizeof(real) * P), *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P), *x = mem_alloc(MEM_DATA, sizeof(real) * e->B * dim);
    int32_t *y = mem_alloc(MEM_DATA, sizeof(int32_t) * e->B);
    memcpy(w, e->w0, sizeof(real) * P);
    for (int t = 0; t < e->T; t++) {
        for (int b = 0; b < e->B; b++) {
            const int64_t row = e->batches[(long)t * e->B + b];
            memcpy(x + (long)b * dim, e->train_x + row * dim, sizeof(real) * dim);
            y[b] = e->train_y[row];
        }
        model_loss_grad(e->m, w, x, y, e->B, g);
        BACKEND_CPU.vec.clamp(g, P, e->clamp, NULL);
        BACKEND_CPU.vec.sgd_step(w, v, NULL, g, P, e->lr[t], e->mom[t], e->wd[t]);
    }
    double loss;
    model_evaluate(e->m, w, e->val_x, e->val_y, e->n_val, &loss, NULL);
    mem_free(w);
    mem_free(v);
    mem_free(g);
    mem_free(x);
    mem_free(y);
    return loss;
}

static int32_t *labels(const Npy *a)
{
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(a->count ? a->count : 1));
    for (long i = 0; i < a->count; i++) {
        int64_t v;
        memcpy(&v, a->data + 8 * i, 8);
        y[i] = (int32_t)v;
    }
    return y;
}

static void test_export(void)
{
    files_setup("cli");
    const int T = 10, B = 8, NV = 24, D = 16, P = D * 10 + 10;
    const char *dir = files_tmp("export/sub"); /* parents made too */
    char args[1024];
    snprintf(args, sizeof args, "hypergrad --data synthetic:%d --model logreg --steps %d "
             "--batch %d --val %d --threads 1 --learn lr:2,mom:1,wd:T --clamp 0.3 "
             "--json %s --export %s", D, T, B, NV, files_tmp("e.json"), dir);
    Run r;
    if (!run_ok(args, &r)) {
        run_free(&r);
        return;
    }
    run_free(&r);
    char *js = files_slurp(files_tmp("e.json"), NULL);
    char path[800];
    snprintf(path, sizeof path, "%s/problem.json", dir);
    char *pj = files_slurp(path, NULL);
    EXPECT(js && pj && json_valid(js) && json_valid(pj), "problem.json or --json not valid");
    if (!js || !pj || !json_valid(js) || !json_valid(pj)) {
        free(js);
        free(pj);
        return;
    }
    static const char *const keys[] = {
        "model", "input_shape", "classes", "layers", "params", "steps", "batch", "lr", "mom",
        "wd", "clamp", "learn", "loss", "hypergrad_definition", "update"};
    for (int i = 0; i < ARRAY_LEN(keys); i++)
        EXPECT(json_get(pj, keys[i]), "problem.json lacks '%s'", keys[i]);
    double v[64];
    EXPECT(json_numbers(json_get(pj, "input_shape"), v, 64) == 1 && v[0] == D, "input_shape");
    EXPECT(json_is_string(pj, "loss", "mean softmax cross-entropy") &&
               json_is_string(pj, "update", "v = m*v + clamp(g) + wd*w; w = w - lr*v") &&
               json_number(pj, "clamp") == 0.3 && json_number(pj, "classes") == 10,
           "problem.json strings");
    const char *learn = json_get(pj, "learn");
    EXPECT(learn && json_number(learn, "lr") == 2 && json_number(learn, "mom") == 1 &&
               json_number(learn, "wd") == T, "learn");
    const char *layers = json_get(pj, "layers"), *params = json_get(pj, "params");
    EXPECT(layers && strstr(layers, "\"type\": \"linear\", \"in_features\": 16, "
                                    "\"out_features\": 10"), "layers");
    EXPECT(params && strstr(params, "{\"name\": \"fc1.weight\", \"shape\": [10, 16], "
                                    "\"offset\": 0") &&
               strstr(params, "{\"name\": \"fc1.bias\", \"shape\": [10], \"offset\": 160"),
           "params");

    Exported e = {.T = T, .B = B, .n_val = NV, .clamp = 0.3};
    e.lr = malloc(sizeof(double) * T);
    e.mom = malloc(sizeof(double) * T);
    e.wd = malloc(sizeof(double) * T);
    EXPECT(json_numbers(json_get(pj, "lr"), e.lr, T) == T &&
               json_numbers(json_get(pj, "mom"), e.mom, T) == T &&
               json_numbers(json_get(pj, "wd"), e.wd, T) == T, "per-step schedule arrays");

    Npy w0, tx, ty, bt, vx, vy, hg, ps;
    int ok = 1;
    snprintf(path, sizeof path, "%s/w0.npy", dir);
    ok &= tnpy_expect(path, REAL_DESCR, 1, (long[]){P}, &w0);
    snprintf(path, sizeof path, "%s/train_x.npy", dir);
    ok &= tnpy_expect(path, REAL_DESCR, 2, (long[]){-1, D}, &tx);
    const long n = tx.shape[0];
    snprintf(path, sizeof path, "%s/train_y.npy", dir);
    ok &= tnpy_expect(path, "<i8", 1, (long[]){n}, &ty);
    snprintf(path, sizeof path, "%s/batches.npy", dir);
    ok &= tnpy_expect(path, "<i8", 2, (long[]){T, B}, &bt);
    snprintf(path, sizeof path, "%s/val_x.npy", dir);
    ok &= tnpy_expect(path, REAL_DESCR, 2, (long[]){NV, D}, &vx);
    snprintf(path, sizeof path, "%s/val_y.npy", dir);
    ok &= tnpy_expect(path, "<i8", 1, (long[]){NV}, &vy);
    snprintf(path, sizeof path, "%s/hypergrad.npy", dir);
    ok &= tnpy_expect(path, "<f8", 1, (long[]){2 + 1 + T}, &hg);
    snprintf(path, sizeof path, "%s/per_step.npy", dir);
    ok &= tnpy_expect(path, "<f8", 2, (long[]){3, T}, &ps);
    EXPECT(n >= B && n <= (long)T * B, "train_x rows %ld", n);

    if (ok) {
        /* batches: in range, and numbered in order of first use */
        const int64_t *b = (const int64_t *)(const void *)bt.data;
        int64_t next = 0;
        for (long i = 0; i < (long)T * B; i++) {
            EXPECT(b[i] >= 0 && b[i] < n, "batches[%ld] = %lld out of [0, %ld)", i,
                   (long long)b[i], n);
            if (b[i] == next)
                next++;
            else
                EXPECT(b[i] < next, "batches[%ld] = %lld: not in order of first use", i,
                       (long long)b[i]);
        }
        EXPECT(next == n, "batches use %lld of %ld rows", (long long)next, n);
        /* hypergrad.npy and per_step.npy = the JSON's values, exactly */
        double want[64];
        const int N = json_hypergrad(js, want, 64);
        EXPECT(N == hg.count && !memcmp(hg.data, want, sizeof(double) * (size_t)N),
               "hypergrad.npy differs from the JSON's hypergrad");
        const char *pjs = json_get(js, "per_step");
        for (int k = 0; k < HYPER_KINDS; k++)
            EXPECT(json_numbers(json_get(pjs, hyper_kind_name(k)), want, 64) == T &&
                       !memcmp(ps.data + (size_t)k * T * 8, want, sizeof(double) * T),
                   "per_step.npy row %d differs from the JSON", k);

        /* replay the exported problem (thread count as the run's): the same
         * validation loss */
        omp_set_num_threads(1);
        e.m = model_logreg((Shape){D, 1, 1}, 10, NULL);
        e.w0 = (real *)(void *)w0.data;
        e.train_x = (real *)(void *)tx.data;
        e.val_x = (real *)(void *)vx.data;
        e.train_y = labels(&ty);
        e.val_y = labels(&vy);
        e.batches = (int64_t *)(void *)bt.data;
        const double f = replay(&e), f_json = json_number(js, "val_loss");
        EXPECT_REL(f, f_json, TOL_REPLAY, 0, "val loss replayed from the export vs the run");
        printf("#   export replay: val loss rel err %.2g\n", rel_err(f, f_json, 0));
#ifdef HG_F64
        double worst = 0;
        /* central differences of the replayed loss in each learned value */
        const double *hgv = (const double *)(const void *)hg.data;
        const int Ks[HYPER_KINDS] = {2, 1, T};
        double *sched[HYPER_KINDS] = {e.lr, e.mom, e.wd};
        for (int k = 0, q = 0; k < HYPER_KINDS; k++)
            for (int j = 0; j < Ks[k]; j++, q++) {
                const int t0 = (j * T + Ks[k] - 1) / Ks[k], t1 = ((j + 1) * T + Ks[k] - 1) / Ks[k];
                /* steps large enough that the loss's rounding does not swamp a
                 * small weight decay's derivative, small enough for O(h^2) */
                const double h = 1e-5 * fmax(fabs(sched[k][t0]), 1e-2);
                double fd[2];
                for (int side = 0; side < 2; side++) {
                    for (int t = t0; t < t1; t++)
                        sched[k][t] += side ? -2 * h : h;
                    fd[side] = replay(&e);
                }
                for (int t = t0; t < t1; t++)
                    sched[k][t] += h;
                char what[64];
                snprintf(what, sizeof what, "exported %s window %d: hypergrad vs central "
                         "difference", hyper_kind_name(k), j);
                EXPECT_REL(hgv[q], (fd[0] - fd[1]) / (2 * h), 1e-5, 1e-8, what);
                worst = fmax(worst, rel_err(hgv[q], (fd[0] - fd[1]) / (2 * h), 1e-8));
            }
        printf("#   export replay: hypergrad vs central differences, max rel err %.2g\n",
               worst);
#else
        test_skip_part("float32: the exported hypergradient is checked against central "
                       "differences of the replayed loss only in float64 (rounding swamps them)");
#endif
        model_free(e.m);
        free(e.train_y);
        free(e.val_y);
    }
    free(w0.file);
    free(tx.file);
    free(ty.file);
    free(bt.file);
    free(vx.file);
    free(vy.file);
    free(hg.file);
    free(ps.file);
    free(e.lr);
    free(e.mom);
    free(e.wd);
    free(js);
    free(pj);
}

/* LeNet's layers and shapes in problem.json, on 1x28x28 inputs. */
static void test_export_lenet(void)
{
    files_setup("cli");
    const char *dir = files_tmp("export-lenet");
    char args[1024];
    snprintf(args, sizeof args, "hypergrad --data synthetic --model lenet --steps 2 --batch 4 "
             "--val 8 --threads 1 --engine forward --learn lr:1,wd:2 --export %s", dir);
    Run r;
    if (!run_ok(args, &r)) {
        run_free(&r);
        return;
    }
    run_free(&r);
    char path[800];
    snprintf(path, sizeof path, "%s/problem.json", dir);
    char *pj = files_slurp(path, NULL);
    EXPECT(pj && json_valid(pj), "lenet problem.json not valid");
    if (pj && json_valid(pj)) {
        static const char *const types[] = {"conv2d", "relu", "maxpool", "conv2d", "relu",
                                            "maxpool", "flatten", "linear", "relu", "linear",
                                            "relu", "linear"};
        const char *p = json_get(pj, "layers");
        for (int i = 0; i < ARRAY_LEN(types); i++) {
            char want[64];
            snprintf(want, sizeof want, "{\"type\": \"%s\"", types[i]);
            p = p ? strstr(p, want) : NULL;
            EXPECT(p, "layer %d: no %s in order", i, types[i]);
        }
        EXPECT(strstr(pj, "\"in_channels\": 1, \"out_channels\": 6, \"kernel_size\": 5, "
                          "\"stride\": 1, \"padding\": 2") &&
                   strstr(pj, "\"in_features\": 400, \"out_features\": 120") &&
                   strstr(pj, "{\"name\": \"conv1.weight\", \"shape\": [6, 1, 5, 5], "
                              "\"offset\": 0"),
               "lenet settings");
        double v[4];
        EXPECT(json_numbers(json_get(pj, "input_shape"), v, 4) == 3 && v[0] == 1 && v[1] == 28,
               "input_shape [1, 28, 28]");
    }
    Npy a;
    snprintf(path, sizeof path, "%s/train_x.npy", dir);
    if (tnpy_expect(path, REAL_DESCR, 4, (long[]){-1, 1, 28, 28}, &a))
        EXPECT(a.shape[0] >= 4 && a.shape[0] <= 8, "train_x rows %ld", a.shape[0]);
    free(a.file);
    /* per_step.npy exactly when problem.json lists per-step kinds */
    snprintf(path, sizeof path, "%s/per_step.npy", dir);
    const char *kinds = pj ? json_get(pj, "per_step_kinds") : NULL;
    EXPECT(kinds && (access(path, F_OK) == 0) == (strncmp(kinds, "[]", 2) != 0),
           "per_step.npy vs per_step_kinds");
    snprintf(path, sizeof path, "%s/hypergrad.npy", dir);
    tnpy_expect(path, "<f8", 1, (long[]){3}, &a);
    free(a.file);
    free(pj);
}

static void test_launcher(void)
{
    files_setup("cli");
    char launcher[4200], f32[4200], f64[4200], copy[4096];
    snprintf(copy, sizeof copy, "%s", files_bin_dir);
    const char *build = dirname(copy);
    snprintf(launcher, sizeof launcher, "%s/hgbench", build);
    snprintf(f32, sizeof f32, "%s/f32/hgbench", build);
    snprintf(f64, sizeof f64, "%s/f64/hgbench", build);
    if (access(launcher, X_OK) || access(f32, X_OK) || access(f64, X_OK)) {
        test_skip("launcher test needs %s, %s and %s (make all builds them)", launcher, f32,
                  f64);
        return;
    }
    for (int p = 0; p < 3; p++) {
        char args[1024];
        snprintf(args, sizeof args, "hypergrad %s--data synthetic:8 --model logreg --steps 2 "
                 "--batch 4 --val 4 --threads 1 --json %s",
                 p == 0 ? "" : p == 1 ? "--precision 32 " : "--precision=64 ",
                 files_tmp("l.json"));
        Run r = run_prog(launcher, args);
        char *js = files_slurp(files_tmp("l.json"), NULL);
        EXPECT(r.status == 0 && js && json_is_string(js, "precision", p == 2 ? "float64" : "float32"),
               "launcher %s: exit %d, '%s'", args, r.status, r.err);
        free(js);
        run_free(&r);
        remove(files_tmp("l.json"));
    }
    Run r = run_prog(launcher, "hypergrad --precision 16");
    EXPECT(r.status == 2 && strstr(r.err, "--precision '16'"), "launcher, bad precision: %d",
           r.status);
    run_free(&r);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_parse_defaults),
        TEST(test_parse_flags),
        TEST(test_parse_refusals),
        TEST(test_usage),
        TEST(test_json_writer),
        TEST(test_npy_writer),
        TEST(test_binary_usage_and_refusals),
        TEST(test_bptt_memory_refusal),
        TEST(test_engine_error_exit1),
        TEST(test_engines_json),
        TEST(test_engine_options_reach_hpo),
        TEST(test_engine_flags_from_declarations),
        TEST(test_same_seed_same_bytes),
        TEST(test_thread_counts),
        TEST(test_kahan_flag),
        TEST(test_perturb_w0_flag), TEST(test_round_noise_flag),
        TEST(test_real_loader_and_val_clip),
        TEST(test_export),
        TEST(test_export_lenet),
        TEST(test_launcher),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
