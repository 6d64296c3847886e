/* flatten.c — the layout change between convolutional [C][n][HW] tensors and
 * linear [n][C*HW] ones; feature order is C order of [C][H][W] as
 * torch.flatten. A permutation: its backward is the inverse permutation. */
#include <string.h>

#include "kernels.h"

void flatten_forward(Shape in, const real *x, int n, real *y)
{
    const long hw = (long)in.h * in.w, d = in.c * hw;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < in.c; c++)
            memcpy(y + i * d + c * hw, x + ((long)c * n + i) * hw, sizeof(real) * hw);
}

void flatten_backward(Shape in, const real *dy, int n, real *dx)
{
    const long hw = (long)in.h * in.w, d = in.c * hw;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < in.c; c++)
            memcpy(dx + ((long)c * n + i) * hw, dy + i * d + c * hw, sizeof(real) * hw);
}
