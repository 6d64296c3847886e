/* support_models.h — small problems and finite differences shared by the
 * model tests. Tolerances and steps differ by precision (TOL_* below): float64
 * is the reference for exactness; float32 is held to what its rounding allows. */
#ifndef HG_SUPPORT_MODELS_H
#define HG_SUPPORT_MODELS_H

#include "../datasets/dataset.h"
#include "../harness/hyper.h"
#include "../harness/inner.h"
#include "../models/model.h"

typedef struct ModelCase {
    Model *m;
    real *w;      /* [P] */
    real *x;      /* [n][input] */
    int32_t *y;   /* [n] */
    int n;
} ModelCase;

#ifdef HG_F64
#define FD_H0 1e-6      /* central-difference step */
#define FD_HMIN 1e-9    /* below this, roundoff swamps the difference */
#define TOL_FD 1e-6     /* gradient, HVP vs finite differences */
#define TOL_EXACT 1e-12 /* same math, different summation order */
#else
#define FD_H0 1e-2
#define FD_HMIN 1e-4
#define TOL_FD 2e-2
#define TOL_EXACT 1e-5
#endif

/* Inputs N(0,1), labels uniform, w xavier (seed) with biases N(0, 0.1^2) so
 * the bias paths carry weight. Takes ownership of m. */
ModelCase model_case_make(Model *m, int n, uint64_t seed);
void model_case_free(ModelCase *p);
/* Gaussian vector scaled to unit 2-norm. */
void random_unit(real *v, long count, uint64_t seed);
double dot_r(const real *a, const real *b, long count);
/* A finite-difference step along u that stays on one smooth piece of the
 * loss (model_kink_clearance / 8, at most FD_H0); 0 if none >= FD_HMIN. */
double fd_step(ModelCase *p, const real *u);
/* (L(w + h u) - L(w - h u)) / 2h */
double fd_loss(ModelCase *p, const real *u, double h);
/* out = (g(w + h u) - g(w - h u)) / 2h, in double */
void fd_grad(ModelCase *p, const real *u, double h, double *out);

/* The named models at test sizes (logreg-full: 784 -> 10, 7,850 params). */
Model *test_model(const char *name);

/* An inner problem for the engine tests: the named model on n seeded
 * synthetic examples (val of them held out), T steps with K values learned
 * per kind, a cosine schedule with the clamp, w0 xavier (seed 5), batch
 * order seed 17. It holds pointers into itself: it stays where it was made. */
typedef struct EngineCase {
    Model *model;
    Dataset train, val;
    real *w0;
    InnerProblem prob;
    HyperLayout layout;
    Schedule sched;
} EngineCase;
void engine_case_make(EngineCase *c, const char *model, int n, int val, int T,
                      const int K[HYPER_KINDS], double clamp, int batch, int kahan);
void engine_case_free(EngineCase *c);
/* "mlp-tanh T=8 lr:2/layer mom:1/run ex:40 clamp 0.05" into buf: a run's
 * model, steps, learned kinds, example weights and clamp, for messages;
 * returns the length written (as snprintf: may exceed cap). */
size_t kinds_run_name(char *buf, size_t cap, const char *model, int T, const int K[HYPER_KINDS],
                      const HyperPer per[HYPER_KINDS], int E, double clamp);

#endif
