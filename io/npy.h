/* npy.h — NumPy .npy files, format version 1.0: magic "\x93NUMPY", version
 * 1.0, a little-endian uint16 header length, then an ASCII dict
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), } padded with
 * spaces and closed by '\n' so that the data starts at a multiple of 64
 * bytes; then the data, C order, little-endian.
 *
 * A file is written atomically (atomic_file.h), either in one call
 * (npy_write) or streamed (npy_begin, npy_append..., npy_end); npy_end
 * refuses a file whose data is not exactly prod(shape) elements. npy_read
 * reads back what these write (and what numpy.save writes for the same
 * dtypes): the header is parsed strictly and the data size checked against
 * the shape before anything is allocated.
 * Leaves out: format versions 2.0/3.0 (headers over 64 KiB), Fortran order,
 * other dtypes, big-endian hosts (refused at compile time).
 */
#ifndef HG_NPY_H
#define HG_NPY_H

#include <stddef.h>

#include "../common/check.h"
#include "atomic_file.h"

#define NPY_MAX_DIMS 8

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c writes host-order data as little-endian ('<' dtypes)"
#endif

/* Element types by their NumPy descr. */
#define NPY_F4 "<f4"
#define NPY_F8 "<f8"
#define NPY_I8 "<i8"
#define NPY_U8 "<u8"

typedef struct NpyFile {
    AtomicFile out;
    size_t elem_size;
    size_t want, have; /* elements: prod(shape), written so far */
} NpyFile;

/* The header for descr and shape into buf (NUL-terminated); returns its
 * length (a multiple of 64), or -1 if cap is too small, descr unknown or
 * ndim out of [0, NPY_MAX_DIMS]. */
long npy_header(char *buf, size_t cap, const char *descr, const long *shape, int ndim);

int npy_begin(NpyFile *n, const char *path, const char *descr, const long *shape, int ndim,
              HgErr *err);
int npy_append(NpyFile *n, const void *data, size_t count, HgErr *err);
int npy_end(NpyFile *n, HgErr *err);
void npy_abort(NpyFile *n);

/* The whole array in one call. */
int npy_write(const char *path, const char *descr, const long *shape, int ndim,
              const void *data, HgErr *err);

typedef struct NpyArray {
    char descr[4];          /* one of the NPY_* above */
    int ndim;
    long shape[NPY_MAX_DIMS];
    size_t count;           /* prod(shape) */
    void *data;             /* count elements of the descr's size (mem_alloc) */
} NpyArray;

/* Reads a whole file; errors name the file and the field that is wrong.
 * On failure nothing stays allocated. */
int npy_read(const char *path, NpyArray *a, HgErr *err);
void npy_array_free(NpyArray *a);

/* Element i of an <f4 or <f8 array as a double. */
double npy_get_double(const NpyArray *a, size_t i);

/* 0 if a has dtype <f4 or <f8 (any_float) or descr, and exactly the shape
 * given; else -1 naming path and what differs. */
int npy_expect(const NpyArray *a, const char *path, const char *descr, const long *shape,
               int ndim, HgErr *err);

#endif
