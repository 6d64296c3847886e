/* layer_geom.h — the descriptors the kernels take: a tensor's shape and a
 * layer's geometry. backend/ owns them so that a kernel knows sizes and
 * parameter offsets, never the model: models/ embeds a LayerGeom in each of
 * its layers (models/model.h) and hands that to the backend's ops.
 */
#ifndef HG_LAYER_GEOM_H
#define HG_LAYER_GEOM_H

typedef struct Shape {
    int c, h, w; /* a flat vector of D features is {D, 1, 1} */
} Shape;

static inline long shape_size(Shape s) { return (long)s.c * s.h * s.w; }

/* One layer as its kernels see it: input and output shapes of one example,
 * a conv's kernel size and zero padding, and where its weight and bias start
 * in the full parameter vector (-1 for a layer without parameters). */
typedef struct LayerGeom {
    Shape in, out;
    int ksize, pad;        /* conv2d: kernel size and zero padding */
    long w_off, b_off;     /* offsets of weight and bias in w (conv2d, linear) */
} LayerGeom;

#endif
