/* test_flags.c — the flag parser alone (cli/flags.h): every kind, the
 * errors (each names its flag), --flag=value, defaults left alone when a
 * flag is absent, and the usage text. The binaries' own flags are tested
 * through them in test_cli.c and test_fig2.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "test.h"

typedef struct Opts {
    int steps, kahan, help, target, nlist, list[4], given_seed;
    double lr, mom, scale;
    uint64_t seed;
    const char *json, *commit, *target_name;
    int func_calls;
    const char *func_last;
} Opts;

static Opts opts_defaults(void)
{
    return (Opts){.steps = 100, .lr = 0.1, .mom = 0.9, .scale = 1, .seed = 7, .json = NULL,
                  .commit = "unknown", .target = 0, .target_name = "val", .nlist = 1,
                  .list = {10}};
}

/* FLAG_FUNC: an even integer. */
static int parse_even(const char *flag, const char *v, void *target, HgErr *err)
{
    Opts *o = target;
    int x;
    if (flags_parse_int(flag, v, 0, 100, &x, err))
        return -1;
    if (x % 2)
        return hg_fail(err, "%s %d: must be even", flag, x);
    o->func_calls++;
    o->func_last = v;
    return 0;
}

static const char *const TARGETS[] = {"val", "train", NULL};

static FlagTable table_of(Opts *o)
{
    return (FlagTable){{
        {"--steps", "T", "100", "inner steps", FLAG_INT, .target = &o->steps, .lo = 1, .hi = 1000},
        {"--lr", "X", "0.1", "learning rate", FLAG_REAL, .target = &o->lr, .lo = 0, .hi = INFINITY},
        {"--mom", "M", "0.9", "momentum", FLAG_REAL, .target = &o->mom, .lo = 0, .hi = 1},
        {"--scale", "S", "1", "a positive scale", FLAG_REAL, .target = &o->scale, .lo = 0, .hi = 10,
         .open_lo = 1},
        {"--seed", "S", "7", "seed", FLAG_SEED, .target = &o->seed, .given = &o->given_seed},
        {"--json", "FILE", NULL, "JSON output", FLAG_STRING, .target = &o->json},
        {"--commit", "ID", "unknown", "commit (may be empty)", FLAG_STRING, .target = &o->commit,
         .empty_ok = 1},
        {"--target", "val|train", "val", "look-ahead target", FLAG_CHOICE, .target = &o->target,
         .choices = TARGETS, .chosen = &o->target_name},
        {"--list", "LIST", "10", "a comma list", FLAG_INTS, .target = o->list, .lo = 1, .hi = 50,
         .count = &o->nlist, .max = 4},
        {"--even", "N", NULL, "an even number, by a function", FLAG_FUNC, .target = o,
         .parse = parse_even},
        {"--kahan", NULL, "off", "a switch", FLAG_SWITCH, .target = &o->kahan},
        {"--a-rather-long-flag-name", "VALUE", NULL, "long names wrap the help to the "
         "next line, and so does a long help text that goes on and on past eighty columns",
         FLAG_SWITCH, .target = &o->help},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
    }};
}

/* Parses the space-separated words of args (no quoting) into *o, from its
 * defaults. */
static int parse(const char *args, Opts *o, HgErr *err)
{
    static char copy[512];
    char *argv[32], *save = NULL;
    int argc = 0;
    argv[argc++] = "prog";
    snprintf(copy, sizeof copy, "%s", args);
    for (char *tok = strtok_r(copy, " ", &save); tok && argc < 31;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    *o = opts_defaults();
    err->msg[0] = '\0';
    FlagTable t = table_of(o);
    return flags_parse(t.f, argc, argv, err);
}

static void test_defaults_untouched(void)
{
    Opts o;
    HgErr err;
    EXPECT(parse("", &o, &err) == 0, "no flags: %s", err.msg);
    const Opts d = opts_defaults();
    EXPECT(!memcmp(&o, &d, sizeof o), "no flags: the options are the defaults, byte for byte");
    EXPECT(parse("--steps 5", &o, &err) == 0 && o.steps == 5 && o.lr == 0.1 && o.mom == 0.9 &&
               o.seed == 7 && !o.given_seed && !o.json && !strcmp(o.commit, "unknown") &&
               o.nlist == 1 && o.list[0] == 10 && !o.kahan && o.target == 0,
           "one flag changes one field: %s", err.msg);
}

static void test_each_kind(void)
{
    Opts o;
    HgErr err;
    EXPECT(parse("--steps 1000 --lr 0 --mom 1 --scale 10 --seed 18446744073709551615 "
                 "--json out.json --commit abc --target train --list 1,50,3 --even 4 --kahan",
                 &o, &err) == 0,
           "every kind: %s", err.msg);
    EXPECT(o.steps == 1000, "int at hi: %d", o.steps);
    EXPECT(o.lr == 0 && o.mom == 1 && o.scale == 10, "reals at the ends: %g %g %g", o.lr,
           o.mom, o.scale);
    EXPECT(o.seed == UINT64_MAX && o.given_seed, "seed at UINT64_MAX, given");
    EXPECT(o.json && !strcmp(o.json, "out.json") && !strcmp(o.commit, "abc"), "strings");
    EXPECT(o.target == 1 && !strcmp(o.target_name, "train"), "choice: %d %s", o.target,
           o.target_name);
    EXPECT(o.nlist == 3 && o.list[0] == 1 && o.list[1] == 50 && o.list[2] == 3,
           "comma list: %d values", o.nlist);
    EXPECT(o.func_calls == 1 && !strcmp(o.func_last, "4"), "func: %d calls", o.func_calls);
    EXPECT(o.kahan == 1, "switch");
    EXPECT(parse("--lr 1e-3 --mom .5 --scale 1e-300", &o, &err) == 0 && o.lr == 1e-3 &&
               o.mom == 0.5 && o.scale == 1e-300,
           "reals in exponent forms: %s", err.msg);
    EXPECT(parse("--list 4,3,2,1", &o, &err) == 0 && o.nlist == 4 && o.list[3] == 1,
           "a list of max values: %s", err.msg);
    EXPECT(parse("--list 5 --list 6,7", &o, &err) == 0 && o.nlist == 2 && o.list[0] == 6,
           "a repeated list replaces the first: %d", o.nlist);
    EXPECT(parse("--commit=", &o, &err) == 0 && !strcmp(o.commit, ""), "empty_ok: %s",
           err.msg);
}

static void test_equals_and_repeats(void)
{
    Opts o;
    HgErr err;
    EXPECT(parse("--steps=7 --lr=0.5 --json=a=b --target=train --list=2,4 --seed=3", &o,
                 &err) == 0 && o.steps == 7 && o.lr == 0.5 && !strcmp(o.json, "a=b") &&
               o.target == 1 && o.nlist == 2 && o.seed == 3,
           "--flag=value: %s", err.msg);
    EXPECT(parse("--steps 5 --steps 9", &o, &err) == 0 && o.steps == 9, "the last wins: %d",
           o.steps);
    EXPECT(parse("--json=--odd", &o, &err) == 0 && !strcmp(o.json, "--odd"),
           "--flag=--value is a value: %s", err.msg);
    EXPECT(parse("--lr -0", &o, &err) == 0 && o.lr == 0, "a value may start with one dash: %s",
           err.msg);
    EXPECT(parse("-h", &o, &err) == 0 && o.help, "-h is --help: %s", err.msg);
}

static void test_errors_name_the_flag(void)
{
    static const struct { const char *args, *want; } cases[] = {
        {"--nope", "unknown flag '--nope'"},
        {"--nope=3", "unknown flag '--nope'"},
        {"--step 3", "unknown flag '--step'"},
        {"stray", "unexpected argument 'stray'"},
        {"-x", "unexpected argument '-x'"},
        {"--", "unexpected argument '--'"},
        {"--steps", "flag --steps needs a value (--steps T)"},
        {"--json --steps 5", "flag --json needs a value"},
        {"--kahan=1", "flag --kahan takes no value"},
        {"--help=yes", "flag --help takes no value"},
        {"--steps abc", "--steps 'abc': not an integer"},
        {"--steps 10x", "--steps '10x': not an integer"},
        {"--steps 1e3", "--steps '1e3': not an integer"},
        {"--steps=", "--steps '': not an integer"},
        {"--steps 0", "--steps 0: out of range, must be an integer in [1, 1000]"},
        {"--steps 1001", "--steps 1001: out of range"},
        {"--steps 99999999999999999999", "--steps 99999999999999999999: out of range"},
        {"--lr 0.1.2", "--lr '0.1.2': not a number"},
        {"--lr nan", "--lr nan: must be finite"},
        {"--lr inf", "--lr inf: must be finite"},
        {"--lr -0.1", "--lr -0.1: out of range, must be >= 0"},
        {"--mom 1.5", "--mom 1.5: out of range, must be in [0, 1]"},
        {"--scale 0", "--scale 0: out of range, must be in (0, 10]"},
        {"--seed -1", "--seed '-1': not a seed"},
        {"--seed 1.5", "--seed '1.5': not a seed"},
        {"--seed 18446744073709551616", "--seed 18446744073709551616: out of range"},
        {"--json=", "--json '': empty value"},
        {"--target best", "--target 'best': must be val or train"},
        {"--list 1,,2", "--list '1,,2': an empty value"},
        {"--list 1,", "--list '1,': an empty value"},
        {"--list 1,51", "--list 51: out of range"},
        {"--list 1,x", "--list 'x': not an integer"},
        {"--list 1,2,3,4,5", "--list 1,2,3,4,5: more than 4 values"},
        {"--even 3", "--even 3: must be even"},
        {"--even x", "--even 'x': not an integer"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        Opts o;
        HgErr err;
        const int rc = parse(cases[i].args, &o, &err);
        EXPECT(rc == -1 && strstr(err.msg, cases[i].want), "'%s': rc %d, message '%s', want '%s'",
               cases[i].args, rc, err.msg, cases[i].want);
    }
    /* a bad value leaves its target alone */
    Opts o;
    HgErr err;
    EXPECT(parse("--steps 0", &o, &err) == -1 && o.steps == 100, "--steps 0 kept %d", o.steps);
    EXPECT(parse("--list 3,x", &o, &err) == -1 && o.nlist == 1 && o.list[0] == 10,
           "--list 3,x kept count %d and value %d", o.nlist, o.list[0]);
    EXPECT(parse("--target best", &o, &err) == -1 && o.target == 0 &&
               !strcmp(o.target_name, "val"), "--target best kept val");
}

static void test_three_choices_message(void)
{
    int k = -1;
    const Flag t[] = {
        {"--shape", "S", "constant", "shape", FLAG_CHOICE, .target = &k,
         .choices = (const char *const[]){"constant", "cosine", "step", NULL}},
        {0},
    };
    HgErr err = {{0}};
    char *argv[] = {"prog", "--shape", "linear", NULL};
    EXPECT(flags_parse(t, 3, argv, &err) == -1 &&
               strstr(err.msg, "--shape 'linear': must be constant, cosine or step"),
           "'%s'", err.msg);
    char *ok[] = {"prog", "--shape=step", NULL};
    EXPECT(flags_parse(t, 2, ok, &err) == 0 && k == 2, "step is index %d", k);
    EXPECT(flags_find(t, "--shape=x", 7) == &t[0] && !flags_find(t, "--shap", 6),
           "flags_find by length");
}

static void test_unknown_hint_and_known(void)
{
    Opts o = opts_defaults();
    FlagTable t = table_of(&o);
    HgErr err = {{0}};
    char *bad[] = {"build/f32/hgbench-x", "--nope", NULL};
    EXPECT(flags_parse(t.f, 2, bad, &err) == -1 &&
               strstr(err.msg, "unknown flag '--nope' (hgbench-x --help lists the flags)"),
           "the hint names the program: '%s'", err.msg);
    /* flags_parse_known: ours parsed, the rest kept in order with their values */
    char *argv[] = {"prog", "--other", "5", "--steps", "9", "--flag=x", "--sw", "--kahan",
                    "--x", "-1", "--last", NULL};
    char *rest[12];
    int nrest = -1;
    EXPECT(flags_parse_known(t.f, 11, argv, &nrest, rest, &err) == 0, "known: %s", err.msg);
    EXPECT(o.steps == 9 && o.kahan == 1, "ours parsed: steps %d kahan %d", o.steps, o.kahan);
    static const char *const want[] = {"prog", "--other", "5", "--flag=x", "--sw", "--x", "-1",
                                       "--last"};
    int same = nrest == ARRAY_LEN(want) && rest[nrest] == NULL;
    for (int i = 0; same && i < nrest; i++)
        same = !strcmp(rest[i], want[i]);
    EXPECT(same, "rest: %d words", nrest);
    char *stray[] = {"prog", "stray", NULL};
    EXPECT(flags_parse_known(t.f, 2, stray, &nrest, rest, &err) == -1 &&
               strstr(err.msg, "unexpected argument 'stray'"),
           "a word that is no flag's value: '%s'", err.msg);
    char *mine[] = {"prog", "--steps", "0", NULL};
    EXPECT(flags_parse_known(t.f, 3, mine, &nrest, rest, &err) == -1 &&
               strstr(err.msg, "--steps 0: out of range"),
           "our flags' errors still: '%s'", err.msg);
}

static void test_usage_text(void)
{
    Opts o = opts_defaults();
    FlagTable t = table_of(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    flags_usage(f, t.f);
    fclose(f);
    int flags = 0;
    for (const Flag *s = t.f; s->name; s++, flags++) {
        char line[64];
        snprintf(line, sizeof line, "  %s%s", s->name, s->meta ? " " : "\n");
        EXPECT(strstr(text, line) || (!s->meta && strstr(text, s->name)), "usage lacks %s",
               s->name);
    }
    char want[128];
    snprintf(want, sizeof want, "%-*sinner steps (default 100)\n", FLAGS_HELP_COL, "  --steps T");
    EXPECT(strstr(text, want), "aligned at column %d with the default: %s", FLAGS_HELP_COL,
           text);
    snprintf(want, sizeof want, "%-*sJSON output\n", FLAGS_HELP_COL, "  --json FILE");
    EXPECT(strstr(text, want), "no default, none shown");
    EXPECT(strstr(text, "  --a-rather-long-flag-name VALUE\n                            long "),
           "a long name puts the help on the next line");
    int lines = 0, widest = 0, at = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            lines++;
            widest = at > widest ? at : widest;
            at = 0;
        } else {
            at++;
        }
    }
    EXPECT(widest <= 80 && lines > flags, "%d lines for %d flags, widest %d", lines, flags,
           widest);
    free(text);
    text = NULL;
    f = open_memstream(&text, &len);
    flags_usage_omit(f, t.f, (const char *const[]){"--steps", "--help", NULL});
    fclose(f);
    EXPECT(!strstr(text, "--steps") && !strstr(text, "--help") && strstr(text, "--lr"),
           "omit leaves out the named flags");
    free(text);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_defaults_untouched),   TEST(test_each_kind),
        TEST(test_equals_and_repeats),   TEST(test_errors_name_the_flag),
        TEST(test_three_choices_message), TEST(test_unknown_hint_and_known),
        TEST(test_usage_text),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
