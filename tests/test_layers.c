/* test_layers.c — the layers the build enforces (scripts/check-layers.sh,
 * run by the Makefile before every link): this tree and this build's
 * archives hold, and a planted upward include, and a planted upward call
 * between two tiny archives, fail with a message naming the file and the
 * include, or the member and the symbol. Children run through /usr/bin/env
 * (bash, cc, ar); the planted call needs a C compiler and ar, and without
 * them that part is skipped, saying so.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "support_files.h"
#include "test.h"

/* The layers' archives, lowest first (the Makefile's LAYERS). */
static const char *const LAYERS[] = {"common", "backend", "datasets", "models", "engines", "io"};

static const char *script(void)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/../../scripts/check-layers.sh", files_bin_dir);
    return path;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    const int ok = f && fputs(text, f) >= 0;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

static void test_tree_includes_hold(void)
{
    files_setup("layers");
    char args[8400];
    snprintf(args, sizeof args, "bash %s includes %s/../..", script(), files_bin_dir);
    Run r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 0 && !r.err[0], "the tree's includes: exit %d: %s", r.status, r.err);
    run_free(&r);
}

/* backend/ reaching up into models/ fails, naming the file, line and include;
 * models/ using backend/ (downward) and an include within a layer pass. */
static void test_planted_include_fails(void)
{
    files_setup("layers");
    char root[4200], dir[4300], args[8800];
    snprintf(root, sizeof root, "%s/tree", files_tmp_dir());
    const char *const dirs[] = {"", "/backend", "/backend/cpu", "/models"};
    for (int i = 0; i < ARRAY_LEN(dirs); i++) {
        snprintf(dir, sizeof dir, "%s%s", root, dirs[i]);
        EXPECT(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    }
    snprintf(dir, sizeof dir, "%s/models/net.c", root);
    EXPECT(write_text(dir, "#include \"../backend/backend.h\"\n#include \"model.h\"\n") == 0,
           "writing %s", dir);
    snprintf(dir, sizeof dir, "%s/backend/cpu/ok.c", root);
    EXPECT(write_text(dir, "#include \"../layer_geom.h\"\n") == 0, "writing %s", dir);

    snprintf(args, sizeof args, "bash %s includes %s", script(), root);
    Run r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 0, "downward and same-layer includes pass: exit %d: %s", r.status, r.err);
    run_free(&r);

    snprintf(dir, sizeof dir, "%s/backend/cpu/planted.c", root);
    EXPECT(write_text(dir, "#include <stdio.h>\n#include \"../../models/model.h\"\n") == 0,
           "writing %s", dir);
    r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 1 &&
               strstr(r.err, "backend/cpu/planted.c:2: #include \"../../models/model.h\"") &&
               strstr(r.err, "from layer backend into layer models") && !strstr(r.err, "net.c") &&
               !strstr(r.err, "ok.c"),
           "a planted upward include: exit %d: %s", r.status, r.err);
    run_free(&r);
}

static void test_build_archives_hold(void)
{
    files_setup("layers");
    char args[8400];
    int len = snprintf(args, sizeof args, "bash %s symbols", script());
    for (int i = 0; i < ARRAY_LEN(LAYERS); i++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %s/lib%s.a", files_bin_dir,
                        LAYERS[i]);
    Run r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 0 && !r.err[0], "this build's archives: exit %d: %s", r.status, r.err);
    run_free(&r);
}

/* Compiles src into NAME.o in the temporary folder and archives it as
 * libLAYER.a there; 0, or -1 where the tools are missing (127). */
static int archive(const char *name, const char *layer, const char *src)
{
    char c[4400], o[4400], a[4400], args[13500];
    snprintf(c, sizeof c, "%s/%s.c", files_tmp_dir(), name);
    snprintf(o, sizeof o, "%s/%s.o", files_tmp_dir(), name);
    snprintf(a, sizeof a, "%s/lib%s.a", files_tmp_dir(), layer);
    EXPECT(write_text(c, src) == 0, "writing %s", c);
    snprintf(args, sizeof args, "cc -c %s -o %s", c, o);
    Run r = run_prog("/usr/bin/env", args);
    const int cc_rc = r.status;
    EXPECT(cc_rc == 0 || cc_rc == 127, "cc %s: exit %d: %s", args, r.status, r.err);
    run_free(&r);
    if (cc_rc != 0)
        return -1;
    snprintf(args, sizeof args, "ar rcs %s %s", a, o);
    r = run_prog("/usr/bin/env", args);
    const int ar_rc = r.status;
    EXPECT(ar_rc == 0 || ar_rc == 127, "ar %s: exit %d: %s", args, r.status, r.err);
    run_free(&r);
    return ar_rc == 0 ? 0 : -1;
}

/* A backend member calling a models function fails, naming the member, the
 * symbol and where it is defined; models calling down into backend passes. */
static void test_planted_call_fails(void)
{
    files_setup("layers");
    if (archive("kernel", "backend",
                "void model_free(void *m);\nvoid be_kernel(void);\n"
                "void be_kernel(void) { model_free(0); }\n") ||
        archive("model", "models",
                "void be_kernel(void);\nvoid model_free(void *m);\n"
                "void model_free(void *m) { (void)m; be_kernel(); }\n")) {
        test_skip_part("a planted upward call: no C compiler or ar here (cc, ar)");
        return;
    }
    char args[8400];
    snprintf(args, sizeof args, "bash %s symbols %s/libbackend.a %s/libmodels.a", script(),
             files_tmp_dir(), files_tmp_dir());
    Run r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 1 && strstr(r.err, "libbackend.a: kernel.o needs model_free") &&
               strstr(r.err, "libmodels.a:model.o defines") && !strstr(r.err, "be_kernel"),
           "a planted upward call: exit %d: %s", r.status, r.err);
    run_free(&r);

    /* the same archives named the other way up: models is the lower layer,
     * and backend's call into it is then a downward one, but models'
     * call of be_kernel is not */
    snprintf(args, sizeof args, "bash %s symbols %s/libmodels.a %s/libbackend.a", script(),
             files_tmp_dir(), files_tmp_dir());
    r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 1 && strstr(r.err, "model.o needs be_kernel") &&
               !strstr(r.err, "needs model_free"),
           "the order decides: exit %d: %s", r.status, r.err);
    run_free(&r);
}

static void test_usage_errors(void)
{
    files_setup("layers");
    char args[8400];
    snprintf(args, sizeof args, "bash %s symbols %s/no-such.a", script(), files_tmp_dir());
    Run r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 2 && strstr(r.err, "no-such.a: no such archive"), "a missing archive: %d %s",
           r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "bash %s sideways", script());
    r = run_prog("/usr/bin/env", args);
    EXPECT(r.status == 2 && strstr(r.err, "usage"), "an unknown mode: %d %s", r.status, r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_tree_includes_hold),
        TEST(test_planted_include_fails),
        TEST(test_build_archives_hold),
        TEST(test_planted_call_fails),
        TEST(test_usage_errors),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
