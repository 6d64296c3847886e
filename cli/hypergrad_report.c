/* hypergrad_report.c — what `hgbench hypergrad` reports (cli_hypergrad.h):
 * the memory estimate on stderr, the summary, and the JSON record, whose
 * engine option members are written from the engine's declarations.
 */
#include "cli_hypergrad.h"

#include <string.h>

#include "../common/mem.h"
#include "../common/real.h"
#include "../engines/engine.h"
#include "../harness/runner.h"
#include "../io/atomic_file.h"
#include "../io/export.h"
#include "../io/json_writer.h"
#include "../io/machine.h"

static double gib(double b) { return b / (1024.0 * 1024.0 * 1024.0); }

static void human_bytes(char *buf, size_t cap, double b)
{
    if (b >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", gib(b));
    else if (b >= 1024.0 * 1024)
        snprintf(buf, cap, "%.2f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0)
        snprintf(buf, cap, "%.2f KiB", b / 1024.0);
    else
        snprintf(buf, cap, "%.0f B", b);
}


int hypergrad_memory_estimate(const char *cmd, const HypergradOptions *o, long P, int N,
                              double *estimate, HgErr *err)
{
    const EngineOps *ops = engine_find(o->engine);
    EngineState st;
    const RunSpec spec = hypergrad_run_spec(o);
    EngineOptions eo = runner_options(&spec, o->kahan);
    eo.N = N; /* with the kinds per layer or weight counted (hyper_count) */
    const int rc = engine_check_state(ops, P, &eo, o->clamp > 0, &st, err);
    *estimate = st.bytes;
    if (st.bytes > 0) {
        const MemLimit m = mem_limit();
        fprintf(stderr, "hgbench %s: %s memory estimate: %.4g GiB for %s; %s\n", cmd, ops->name,
                gib(st.bytes), st.what, m.bytes >= 0 ? m.what : "no memory limit is known");
    }
    return rc;
}

static int per_step_kinds(const HyperLayout *h, const EngineResult *r)
{
    int n = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        n += h->K[k] && r->per_step[k];
    return n;
}

static void learn_string(const HyperLayout *h, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k] && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s:%d%s%s", len ? "," : "",
                                    hyper_kind_name(k), h->K[k],
                                    h->per[k] != HYPER_PER_RUN ? "/" : "",
                                    h->per[k] != HYPER_PER_RUN ? hyper_per_name(h->per[k]) : "");
    if (!len)
        snprintf(buf, cap, "none");
}

void hypergrad_print_summary(FILE *out, const HypergradOptions *o, const Problem *pb,
                             const Runner *run, const EngineResult *r)
{
    const Model *m = pb->model;
    const Dataset *train = &pb->train, *val = &pb->val;
    const HyperLayout *h = &run->layout;
    char learn[96], b[32], desc[256];
    learn_string(h, learn, sizeof learn);
    fprintf(out, "engine      %s%s\n", o->engine,
            engine_describe(run->engine, &o->opt, r, desc, sizeof desc));
    fprintf(out, "model       %s: %ld parameters, input %dx%dx%d, %d classes, init %s", o->model,
           m->nparams, m->input.c, m->input.h, m->input.w, m->classes, o->init_name);
    if (o->perturb_w0 > 0)
        fprintf(out, ", w0 perturbed by %g relative", o->perturb_w0);
    if (o->round_noise != ROUND_NOISE_OFF)
        fprintf(out, ", w and v rounded (%s) at every step", round_noise_name(o->round_noise));
    fprintf(out, "\n");
    fprintf(out, "data        %s: %d train, %d val examples, " HG_REAL_NAME ", %d threads\n",
           o->data, train->n, val->n, o->threads);
    if (o->label_noise > 0 && o->train_clean_only)
        fprintf(out, "labels      clean only: the %d corrupted (%g, %s) dropped, %d kept\n",
                pb->labels_dropped, o->label_noise, label_noise_mode_name(o->label_noise_mode),
                train->n);
    else if (o->label_noise > 0)
        fprintf(out, "labels      %d of %d training labels corrupted (%g, %s)\n",
                pb->labels_changed, train->n, o->label_noise,
                label_noise_mode_name(o->label_noise_mode));
    fprintf(out, "steps       %d, batch %d, schedule %s (lr %g, mom %g, wd %g), clamp ", o->steps,
           o->batch, o->schedule_name, o->lr, o->mom, o->wd);
    if (o->clamp > 0)
        fprintf(out, "%g\n", o->clamp);
    else
        fprintf(out, "off\n");
    fprintf(out, "learned     %s\n", learn);
    fprintf(out, "val loss    %.6g (accuracy %.4f)\n", r->val_loss, r->val_acc);
    const char *lead = "hypergrad   ";
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        const long n = (long)h->K[k] * h->width[k];
        fprintf(out, "%s%s [%ld]:", lead, hyper_kind_name(k), n);
        const long show = n <= 8 ? n : 6;
        for (long i = 0; i < show; i++)
            fprintf(out, " %.6g", r->hypergrad[h->offset[k] + i]);
        if (show < n)
            fprintf(out, " ... (all %ld in --json)", n);
        fprintf(out, "\n");
        lead = "            ";
    }
    if (h->E) {
        const int show = h->E <= 8 ? h->E : 6;
        fprintf(out, "%sex [%d]:", lead, h->E);
        for (int i = 0; i < show; i++)
            fprintf(out, " %.6g", r->hypergrad[h->ex_offset + i]);
        fprintf(out, "%s\n", show < h->E ? " ... (all in --json)" : "");
    }
    if (!h->N)
        fprintf(out, "hypergrad   (nothing learned)\n");
    fprintf(out, "time        %.3f s (%.3f ms per step)\n", r->time_s, 1e3 * r->time_s / o->steps);
    fprintf(out, "phases     ");
    for (int p = 0; p < ENGINE_PHASES; p++)
        fprintf(out, " %s %.3f s%s", engine_phase_name((EnginePhase)p), r->phase_s[p],
                p + 1 < ENGINE_PHASES ? "," : "");
    fprintf(out, " (%s)\n", r->phase_device ? "device time by CUDA events" : "wall time");
    fprintf(out, "memory      ");
    int first = 1;
    for (int t = 0; t < MEM_NTAGS; t++) {
        if (!r->mem_peak[t])
            continue;
        human_bytes(b, sizeof b, (double)r->mem_peak[t]);
        fprintf(out, "%s%s %s", first ? "" : ", ", mem_tag_name(t), b);
        first = 0;
    }
    human_bytes(b, sizeof b, (double)r->peak_rss);
    fprintf(out, "%speak RSS %s", first ? "" : "; ", b);
    if (r->device_peak) {
        human_bytes(b, sizeof b, (double)r->device_peak);
        fprintf(out, ", device in use at its peak %s", b);
    }
    fprintf(out, " (peaks during the run)\n");
    if (run->engine->infobuf) {
        char f[32];
        human_bytes(b, sizeof b, (double)r->infobuf_bytes);
        human_bytes(f, sizeof f, r->infobuf_floor_bytes);
        fprintf(out, "infobuf     %s, floor %s (%.3fx)\n", b, f,
               r->infobuf_floor_bytes > 0 ? (double)r->infobuf_bytes / r->infobuf_floor_bytes
                                          : 0.0);
    }
    fflush(stdout);
}

/* The training subset and the label noise, only when asked (other records
 * keep their bytes); the changed examples' indices in the training part,
 * for a detector of corrupted labels to be scored against. */
static void json_training_set(JsonWriter *j, const HypergradOptions *o, const Problem *pb)
{
    const ProblemSpec spec = hypergrad_problem_spec(o);
    if (o->train_size > 0) {
        json_field_int(j, "train_size", o->train_size);
        json_field_uint(j, "subset_seed", problem_subset_seed(&spec));
    }
    if (!(o->label_noise > 0))
        return;
    json_key(j, "label_noise");
    json_object_begin(j, 0);
    json_field_double(j, "fraction", o->label_noise);
    json_field_string(j, "mode", label_noise_mode_name(o->label_noise_mode));
    json_field_uint(j, "seed", problem_label_noise_seed(&spec));
    json_field_int(j, "changed", pb->labels_changed);
    if (o->train_clean_only) /* only then: other records keep their bytes */
        json_field_int(j, "dropped", pb->labels_dropped);
    json_key(j, "changed_examples");
    json_array_begin(j, 1);
    for (int i = 0; i < pb->train.n; i++)
        if (pb->label_changed[i])
            json_int(j, i);
    json_array_end(j);
    json_object_end(j);
}

void hypergrad_json_problem(JsonWriter *j, const HypergradOptions *o, const Problem *pb,
                            const HyperLayout *h)
{
    const Model *m = pb->model;
    const Dataset *train = &pb->train, *val = &pb->val;
    json_field_string(j, "model", o->model);
    json_field_int(j, "model_params", m->nparams);
    json_field_string(j, "data", o->data);
    json_key(j, "data_dir");
    json_put_string(j, o->synthetic ? NULL
                                : o->data_dir ? o->data_dir : dataset_default_dir(o->data));
    json_key(j, "input_shape"); /* [C, H, W], or [D] for flat inputs, as --export */
    if (m->input.h == 1 && m->input.w == 1)
        json_longs(j, (long[]){m->input.c}, 1);
    else
        json_longs(j, (long[]){m->input.c, m->input.h, m->input.w}, 3);
    json_field_int(j, "classes", m->classes);
    json_field_int(j, "train_examples", train->n);
    json_field_int(j, "val_examples", val->n);
    json_training_set(j, o, pb);
    json_field_int(j, "steps", o->steps);
    json_field_int(j, "batch", o->batch);
    json_field_string(j, "precision", HG_REAL_NAME);
    json_field_uint(j, "seed", o->seed);
    json_field_uint(j, "batch_seed", o->batch_seed);
    json_field_uint(j, "val_seed", o->val_seed);
    json_field_string(j, "init", o->init_name);
    if (o->init == INIT_NORMAL) {
        json_field_double(j, "init_sigma", o->init_sigma);
    }
    json_field_int(j, "threads", o->threads);
    json_field_string(j, "schedule", o->schedule_name);
    json_field_double(j, "lr", o->lr);
    json_field_double(j, "mom", o->mom);
    json_field_double(j, "wd", o->wd);
    json_key(j, "clamp");
    if (o->clamp > 0)
        json_double(j, o->clamp);
    else
        json_put_null(j);
    json_field_bool(j, "kahan", o->kahan);
    if (o->perturb_w0 > 0) { /* only when asked: other records keep their bytes */
        const ProblemSpec spec = hypergrad_problem_spec(o);
        json_field_double(j, "perturb_w0", o->perturb_w0);
        json_field_uint(j, "perturb_seed", problem_perturb_seed(&spec));
    }
    if (o->round_noise != ROUND_NOISE_OFF) { /* only when asked, as perturb_w0 */
        const ProblemSpec spec = hypergrad_problem_spec(o);
        json_field_string(j, "round_noise", round_noise_name(o->round_noise));
        json_field_uint(j, "round_seed", problem_round_seed(&spec));
    }
    json_key(j, "learn");
    json_object_begin(j, 1);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_int(j, hyper_kind_name(k), h->K[k]);
        }
    json_object_end(j);
    if (hyper_layout_vector(h)) { /* only then: other records keep their bytes */
        json_key(j, "learn_per");
        json_object_begin(j, 1);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k])
                json_field_string(j, hyper_kind_name(k), hyper_per_name(h->per[k]));
        json_object_end(j);
    }
    /* the engine's options, as it declares them */
    const EngineOps *ops = engine_find(o->engine);
    for (const EngineOption *x = ops->options; x && x->flag; x++) {
        const double v = engine_option_value(x, &o->opt);
        if (x->kind == ENGINE_OPTION_CHOICE)
            json_field_string(j, x->json, x->choices[(int)v]);
        else if (x->kind == ENGINE_OPTION_INT)
            json_field_int(j, x->json, (long)v);
        else
            json_field_double(j, x->json, v);
    }
}

void hypergrad_json_theta(JsonWriter *j, const HyperLayout *h, const double *theta)
{
    json_key(j, "theta");
    json_object_begin(j, 0);
    export_json_theta_layout(j, "layout", h);
    json_field_doubles(j, "values", theta, h->N);
    json_object_end(j);
}

void hypergrad_json_machine(JsonWriter *j)
{
    Machine mc;
    machine_probe(&mc);
    json_key(j, "machine");
    json_object_begin(j, 0);
    json_field_string(j, "host", mc.host);
    json_field_string(j, "cpu", mc.cpu);
    json_field_int(j, "cores", mc.cores);
    json_field_int(j, "pus", mc.pus);
    json_field_double(j, "memory_bytes", mc.memory_bytes);
    json_object_end(j);
}

int hypergrad_write_json(const HypergradOptions *o, const Problem *pb, const Runner *run,
                         const EngineResult *r, double estimate, HgErr *err)
{
    const Model *m = pb->model;
    const HyperLayout *h = &run->layout;
    AtomicFile af;
    if (atomic_open(&af, o->json, err))
        return -1;
    JsonWriter jw, *j = &jw;
    json_init(j, af.f);
    json_object_begin(j, 0);
    json_field_string(j, "command", "hypergrad");
    json_field_string(j, "engine", o->engine);
    json_field_string(j, "device", m->be->name); /* what --device auto resolved to */
    if (m->be->layer.conv_picks) { /* the conv path of each shape: the bytes depend on it */
        char picks[16384];
        m->be->layer.conv_picks(picks, sizeof picks);
        json_field_string(j, "conv_picks", picks);
    }
    hypergrad_json_problem(j, o, pb, h);
    hypergrad_json_theta(j, h, run->theta);
    json_field_double(j, "val_loss", r->val_loss);
    json_field_double(j, "val_acc", r->val_acc);
    json_key(j, "hypergrad");
    json_object_begin(j, 0);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_doubles(j, hyper_kind_name(k), r->hypergrad + h->offset[k],
                               (long)h->K[k] * h->width[k]);
        }
    if (h->E) /* d f / d gamma of the example weights */
        json_field_doubles(j, "ex", r->hypergrad + h->ex_offset, h->E);
    json_object_end(j);
    json_key(j, "per_step");
    if (per_step_kinds(h, r)) {
        json_object_begin(j, 0);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k] && r->per_step[k]) {
                json_field_doubles(j, hyper_kind_name(k), r->per_step[k], o->steps);
            }
        json_object_end(j);
    } else {
        json_put_null(j);
    }
    if (run->engine->recomputes) {
        json_field_int(j, "recomputed_steps", (int)r->recomputed_steps);
        json_field_int(j, "recomputed_min", (int)r->recomputed_min);
    }
    json_field_double(j, "time_s", r->time_s);
    json_field_double(j, "time_per_step_s", r->time_s / o->steps);
    for (int p = 0; p < ENGINE_PHASES; p++) { /* engine.h's phases */
        char key[48];
        snprintf(key, sizeof key, "%s_time_s", engine_phase_name((EnginePhase)p));
        json_field_double(j, key, r->phase_s[p]);
    }
    json_field_string(j, "phase_clock", r->phase_device ? "cuda events" : "host");
    json_key(j, "mem");
    json_object_begin(j, 0);
    for (int t = 0; t < MEM_NTAGS; t++) {
        json_field_uint(j, mem_tag_name(t), r->mem_peak[t]);
    }
    json_field_uint(j, "peak_rss", r->peak_rss);
    if (r->device_peak) /* a device backend: its use by cudaMemGetInfo */
        json_field_uint(j, "device_peak", r->device_peak);
    if (estimate > 0) {
        json_field_double(j, "estimate", estimate);
    }
    if (run->engine->infobuf) {
        json_field_uint(j, "infobuf_bytes", r->infobuf_bytes);
        json_field_double(j, "infobuf_floor_bytes", r->infobuf_floor_bytes);
    }
    json_object_end(j);
    hypergrad_json_machine(j);
    json_object_end(j);
    return atomic_commit(&af, err);
}

