/* dnn_probe.h — the verdict on cuDNN after the probe's own convolutions
 * (cuda_dnn_probe.cu), apart from CUDA so that the CPU tests check it
 * (tests/test_dnn_probe.c). C and C++ alike.
 *
 * cudnnCreate loads none of cuDNN 9's conv sub-libraries, so a cuDNN that
 * "loaded" can still fail at its first convolution: a sub-library or its
 * dependency missing, an algorithm without a float64 kernel in the legacy
 * API, a filter pointer only 4-, 8- or 12-byte aligned (a layer's w_off).
 * The CUDA backend's conv calls exit on a cuDNN error, so the probe runs
 * each kind of call once on a tiny layer, with the filter at an odd offset,
 * before any work, and compares the results with the host's sums. Any
 * error or wrong value switches cuDNN off for the run, with the reason kept
 * (the device record and every conv_picks line say it), and every conv
 * runs as im2col + cuBLAS.
 */
#ifndef HG_DNN_PROBE_H
#define HG_DNN_PROBE_H

#include <math.h>
#include <stdio.h>

typedef struct DnnProbeStep {
    const char *what;  /* "forward", "backward data", "backward filter" */
    int status;        /* 0: every call of the step succeeded; else the error's code */
    const char *error; /* that error's words (status != 0) */
    double err;        /* max |got - host| / max |host|; NaN: not computed */
} DnnProbeStep;

/* 1: cuDNN may run (every step succeeded within tol); 0: it may not, and
 * why says which step and how, naming where (the probe's layer). */
static inline int dnn_probe_verdict(const DnnProbeStep *s, int n, double tol, const char *where,
                                    char *why, size_t cap)
{
    for (int i = 0; i < n; i++) {
        if (s[i].status) {
            snprintf(why, cap, "cuDNN switched off: its %s on %s failed: %s (%d); convolutions "
                     "run as im2col + cuBLAS", s[i].what, where,
                     s[i].error ? s[i].error : "no message", s[i].status);
            return 0;
        }
        if (!(s[i].err <= tol)) { /* NaN too: a value not computed or not finite */
            snprintf(why, cap, "cuDNN switched off: its %s on %s is off by %.3g (tolerance "
                     "%.3g) against the host's sums; convolutions run as im2col + cuBLAS",
                     s[i].what, where, s[i].err, tol);
            return 0;
        }
    }
    return 1;
}

/* max |got - ref| / max(max |ref|, 1e-30) over n values; NaN if a value
 * of got is not finite. */
static inline double dnn_probe_error(const double *got, const double *ref, long n)
{
    double e = 0, m = 1e-30;
    for (long i = 0; i < n; i++) {
        if (!isfinite(got[i]))
            return NAN;
        const double d = fabs(got[i] - ref[i]);
        e = d > e ? d : e;
        m = fabs(ref[i]) > m ? fabs(ref[i]) : m;
    }
    return e / m;
}

#endif
