/* test_engine_wT.c — the w_T an engine hands out (EngineConfig.wT), which
 * hgbench hpo evaluates on the test set instead of retraining the schedule.
 *
 * An engine that declares plain_wT must give, bit for bit, the w_T of a
 * plain training run (inner_train_layout) of the schedule it ran, on every
 * configuration an HPO run can ask: per-run and per-layer learning rates,
 * weight decay per weight, learned example weights, the gradient clamp, the
 * compensated update, float32-sized rounding noise (float64), and LeNet.
 * Every engine, plain_wT or not, copies the w_T its validation loss is
 * measured at: the loss there equals the engine's val_loss. An engine with
 * an option that moves its schedule (greedy's online updates) runs another
 * schedule, so hpo must not take its w_T as the given schedule's: checked
 * here to differ.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/inner_kinds.h"
#include "support_models.h"
#include "test.h"

typedef struct Config {
    const char *model;
    int T, K[HYPER_KINDS];
    HyperPer per[HYPER_KINDS];
    double clamp;
    int E, kahan, noise;
} Config;

static const Config CONFIGS[] = {
    {"logreg", 8, {2, 1, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0, 0, 0, 0},
    {"mlp-tanh", 8, {8, 0, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0.05, 0, 0, 0},
    {"mlp-relu", 6, {3, 1, 1}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0, 0, 1, 0},
    {"mlp-tanh", 8, {4, 1, 2}, {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_LAYER}, 0, 0, 0, 0},
    {"mlp-tanh", 6, {2, 1, 1}, {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_WEIGHT}, 0.05, 40, 0, 0},
#ifdef HG_F64
    {"mlp-tanh", 8, {2, 1, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0, 0, 0, 1},
#endif
    {"lenet", 4, {4, 0, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0, 0, 0, 0},
};

static void config_name(const Config *c, char *buf, size_t cap)
{
    size_t at = kinds_run_name(buf, cap, c->model, c->T, c->K, c->per, c->E, c->clamp);
    if (c->kahan && at < cap)
        at += (size_t)snprintf(buf + at, cap - at, " kahan");
    if (c->noise && at < cap)
        snprintf(buf + at, cap - at, " sr32");
}

/* The case of c: its layout, and theta spread so that windows, layers and
 * examples differ (as test_kinds.c does). */
static void case_make(EngineCase *ec, const Config *c)
{
    HgErr err = {{0}};
    const int lenet = !strcmp(c->model, "lenet");
    engine_case_make(ec, c->model, lenet ? 48 : 16 * 8 + 32, lenet ? 16 : 32, c->T, c->K,
                     c->clamp, lenet ? 8 : 16, c->kahan);
    HyperBlocks b;
    HG_CHECK(hyper_blocks_of_model(ec->model, &b, &err) == 0 &&
                 hyper_layout_init_per(&ec->layout, c->T, c->K, c->per, &b, &err) == 0 &&
                 hyper_layout_examples(&ec->layout, c->E, &err) == 0,
             "%s: %s", c->model, err.msg);
    const int N = ec->layout.N;
    double *theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
    hyper_pack(&ec->layout, &ec->sched, theta);
    const HyperLayout *h = &ec->layout;
    for (int q = 0; q < N; q++) {
        const int mom = h->K[HYPER_MOM] && q >= h->offset[HYPER_MOM] &&
                        q < h->offset[HYPER_MOM] + h->K[HYPER_MOM] * h->width[HYPER_MOM];
        theta[q] *= 1 + (mom ? 0.02 : 0.3) * sin(q + 1.0);
    }
    for (int i = 0; i < h->E; i++)
        theta[h->ex_offset + i] = 0.9 * sin(2.0 * i + 1);
    hyper_unpack(&ec->layout, theta, &ec->sched);
    mem_free(theta);
    if (c->noise) {
        ec->prob.round_noise = ROUND_NOISE_SR32;
        ec->prob.round_seed = 23;
    }
}

/* ops's run of ec into wT (its w_T) and *val_loss: 0, or -1 with err set
 * (an engine that refuses the configuration). */
static int engine_wT(const EngineOps *ops, EngineCase *ec, EngineSettings opt, real *wT,
                     double *val_loss, HgErr *err)
{
    EngineConfig cfg = {.prob = &ec->prob, .layout = &ec->layout, .sched = &ec->sched,
                        .opt = opt, .wT = wT};
    EngineResult r;
    if (engine_run(ops, &cfg, &r, err))
        return -1;
    *val_loss = r.val_loss;
    engine_result_free(&r);
    return 0;
}

/* max|a - b| / max|a| */
static double max_rel_err_r(const real *a, const real *b, long n)
{
    double d = 0, m = 1e-300;
    for (long i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
        m = fmax(m, fabs((double)a[i]));
    }
    return d / m;
}

static void test_plain_wT(void)
{
    const EngineOps *ops[] = {&BPTT_OPS, &CHECKPOINT_OPS, &FORWARD_OPS, &GREEDY_OPS,
                              &REVERSIBLE_OPS};
    for (size_t c = 0; c < sizeof CONFIGS / sizeof *CONFIGS; c++) {
        const Config *cf = &CONFIGS[c];
        char name[160];
        config_name(cf, name, sizeof name);
        EngineCase ec;
        case_make(&ec, cf);
        const long P = ec.model->nparams;
        const size_t bytes = sizeof(real) * (size_t)P;
        real *plain = mem_alloc(MEM_OTHER, bytes), *wT = mem_alloc(MEM_OTHER, bytes);
        memcpy(plain, ec.w0, bytes);
        double pl, pa;
        HgErr err = {{0}};
        HG_CHECK(inner_train_layout(&ec.prob, &ec.layout, &ec.sched, plain, &pl, &pa, &err) == 0,
                 "%s: plain run: %s", name, err.msg);
        for (size_t e = 0; e < sizeof ops / sizeof *ops; e++) {
            for (long i = 0; i < P; i++)
                wT[i] = (real)NAN;
            double vl;
            HgErr why = {{0}};
            EngineSettings opt = engine_settings_defaults();
            if (ops[e] == &CHECKPOINT_OPS)
                opt.checkpoints = cf->T / 2; /* C in 1 .. T - 1 */
            if (engine_wT(ops[e], &ec, opt, wT, &vl, &why)) {
                EXPECT(ops[e] != &BPTT_OPS, "%s: bptt: %s", name, why.msg);
                printf("# %s: %s refuses it (%s): not compared\n", name, ops[e]->name, why.msg);
                continue;
            }
            double ml, ma;
            model_evaluate(ec.model, wT, ec.val.x, ec.val.y, ec.val.n, &ml, &ma);
            EXPECT(ml == vl, "%s: %s: the loss at its w_T %.17g, its val_loss %.17g", name,
                   ops[e]->name, ml, vl);
            const int same = !memcmp(wT, plain, bytes);
            if (ops[e]->plain_wT)
                EXPECT(same, "%s: %s declares plain_wT, but its w_T differs from the plain run's "
                       "(max rel %.3g)", name, ops[e]->name, max_rel_err_r(plain, wT, P));
            else if (same)
                printf("# %s: %s's w_T is the plain run's here (it does not declare it)\n",
                       name, ops[e]->name);
        }
        mem_free(plain);
        mem_free(wT);
        engine_case_free(&ec);
    }
}

/* Greedy with online updates runs another schedule than the one given: its
 * w_T is not the given schedule's (engine_moving_option names the option). */
static void test_moving_schedule(void)
{
    const Config cf = {"mlp-tanh", 8, {8, 0, 0}, {0}, 0, 0, 0, 0};
    EngineCase ec;
    case_make(&ec, &cf);
    const long P = ec.model->nparams;
    const size_t bytes = sizeof(real) * (size_t)P;
    real *plain = mem_alloc(MEM_OTHER, bytes), *wT = mem_alloc(MEM_OTHER, bytes);
    memcpy(plain, ec.w0, bytes);
    double pl, pa, vl;
    HgErr err = {{0}};
    HG_CHECK(inner_train_layout(&ec.prob, &ec.layout, &ec.sched, plain, &pl, &pa, &err) == 0,
             "%s", err.msg);
    EngineSettings opt = engine_settings_defaults();
    opt.greedy_online_lr = 1e-3;
    EXPECT(engine_moving_option(&GREEDY_OPS, &opt) != NULL, "greedy online: a moving option");
    HG_CHECK(engine_wT(&GREEDY_OPS, &ec, opt, wT, &vl, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(wT, plain, bytes) != 0, "greedy online: its w_T is another schedule's");
    mem_free(plain);
    mem_free(wT);
    engine_case_free(&ec);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {
        TEST(test_plain_wT),
        TEST(test_moving_schedule),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
