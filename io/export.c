/* export.c — the files of `--export DIR` (export.h). */
#include "export.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/mem.h"
#include "atomic_file.h"
#include "json_writer.h"
#include "npy.h"

#ifdef HG_F64
#define NPY_REAL NPY_F8
#else
#define NPY_REAL NPY_F4
#endif

int export_make_dir(const char *dir, HgErr *err)
{
    char path[4096];
    const size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return hg_fail(err, "'%s': not a usable folder name", dir);
    memcpy(path, dir, len + 1);
    /* each prefix ending before a '/', then the whole path */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        const char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return hg_fail(err, "%s: cannot create %s: %s", dir, path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return hg_fail(err, "%s: exists and is not a folder", dir);
    return 0;
}

static int file_path(char *buf, size_t cap, const char *dir, const char *name, HgErr *err)
{
    const int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return hg_fail(err, "%s/%s: path too long", dir, name);
    return 0;
}

/* [C, H, W], or [D] for flat inputs; returns the number of dimensions. */
static int example_shape(Shape s, long *dims)
{
    if (s.h == 1 && s.w == 1) {
        dims[0] = s.c;
        return 1;
    }
    dims[0] = s.c;
    dims[1] = s.h;
    dims[2] = s.w;
    return 3;
}

static int write_int64(const char *path, const long *shape, int ndim, const int32_t *v,
                       long n, HgErr *err)
{
    int64_t *buf = mem_alloc(MEM_OTHER, sizeof(int64_t) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++)
        buf[i] = v[i];
    const int rc = npy_write(path, NPY_I8, shape, ndim, buf, err);
    mem_free(buf);
    return rc;
}

/* train_x/train_y of the examples the batches use, in order of first use,
 * and batches.npy as row indices into them. */
static int write_training(const char *dir, const InnerProblem *p, int rows, int *n_used,
                          HgErr *err)
{
    const Dataset *d = p->train;
    const long dim = dataset_dim(d), B = p->batch;
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    int *slot = mem_alloc(MEM_OTHER, sizeof(int) * (size_t)d->n);   /* [n] -1: unused */
    int *order = mem_alloc(MEM_OTHER, sizeof(int) * (size_t)d->n);  /* [used] dataset rows */
    int64_t *batches = mem_alloc(MEM_OTHER, sizeof(int64_t) * (size_t)rows * (size_t)B);
    int used = 0;
    for (int i = 0; i < d->n; i++)
        slot[i] = -1;
    for (int t = 0; t < rows; t++) {
        const int *idx = batch_order_step(&bo, t);
        for (long b = 0; b < B; b++) {
            if (slot[idx[b]] < 0) {
                slot[idx[b]] = used;
                order[used++] = idx[b];
            }
            batches[(long)t * B + b] = slot[idx[b]];
        }
    }
    batch_order_free(&bo);
    *n_used = used;

    char path[4096];
    long shape[4] = {used};
    const int nd = 1 + example_shape((Shape){d->c, d->h, d->w}, shape + 1);
    int rc = file_path(path, sizeof path, dir, "train_x.npy", err);
    NpyFile f;
    if (rc == 0)
        rc = npy_begin(&f, path, NPY_REAL, shape, nd, err);
    for (int i = 0; rc == 0 && i < used; i++)
        rc = npy_append(&f, d->x + (long)order[i] * dim, (size_t)dim, err);
    if (rc == 0)
        rc = npy_end(&f, err);
    if (rc == 0)
        rc = file_path(path, sizeof path, dir, "train_y.npy", err);
    if (rc == 0) {
        int32_t *y = mem_alloc(MEM_OTHER, sizeof(int32_t) * (size_t)(used ? used : 1));
        for (int i = 0; i < used; i++)
            y[i] = d->y[order[i]];
        rc = write_int64(path, (long[]){used}, 1, y, used, err);
        mem_free(y);
    }
    if (rc == 0)
        rc = file_path(path, sizeof path, dir, "batches.npy", err);
    if (rc == 0)
        rc = npy_write(path, NPY_I8, (long[]){rows, B}, 2, batches, err);
    mem_free(slot);
    mem_free(order);
    mem_free(batches);
    return rc;
}

static void layer_json(JsonWriter *j, const Model *m, const Layer *L)
{
    long dims[3];
    json_object_begin(j, 1);
    json_field_string(j, "type", layer_type_name(L->type));
    const char *wname = NULL, *bname = NULL;
    for (int i = 0; i < m->nparam_tensors; i++) {
        if (m->params[i].offset == L->geom.w_off)
            wname = m->params[i].name;
        if (m->params[i].offset == L->geom.b_off)
            bname = m->params[i].name;
    }
    switch (L->type) {
    case LAYER_CONV2D:
        json_field_int(j, "in_channels", L->geom.in.c);
        json_field_int(j, "out_channels", L->geom.out.c);
        json_field_int(j, "kernel_size", L->geom.ksize);
        json_field_int(j, "stride", 1);
        json_field_int(j, "padding", L->geom.pad);
        break;
    case LAYER_LINEAR:
        json_field_int(j, "in_features", shape_size(L->geom.in));
        json_field_int(j, "out_features", shape_size(L->geom.out));
        break;
    case LAYER_MAXPOOL:
        json_field_int(j, "kernel_size", 2);
        json_field_int(j, "stride", 2);
        json_field_int(j, "padding", 0);
        json_field_bool(j, "ceil_mode", 0);
        break;
    case LAYER_FLATTEN:
        json_field_int(j, "start_dim", 1);
        break;
    default:
        break;
    }
    if (wname) {
        json_field_string(j, "weight", wname);
        json_field_string(j, "bias", bname);
    }
    json_field_longs(j, "in_shape", dims, example_shape(L->geom.in, dims));
    json_field_longs(j, "out_shape", dims, example_shape(L->geom.out, dims));
    json_object_end(j);
}

static const char *definition(const ExportInfo *info)
{
    const EngineOps *ops = engine_find(info->engine);
    HG_CHECK(ops, "--engine %s: checked by the command", info->engine);
    const EngineConfig cfg = {.opt = info->opt};
    return engine_definition(ops, &cfg);
}

static int write_problem_json(const char *path, const ExportInfo *info, const InnerProblem *p,
                              const HyperLayout *h, const Schedule *s, const EngineResult *r,
                              int rows, int n_used, HgErr *err)
{
    const Model *m = p->model;
    AtomicFile af;
    if (atomic_open(&af, path, err))
        return -1;
    JsonWriter jw, *j = &jw;
    json_init(j, af.f);
    long dims[3];
    const int nd = example_shape(m->input, dims);
    json_object_begin(j, 0);
    json_field_string(j, "format", "hgbench-export-1");
    json_field_string(j, "engine", info->engine);
    json_field_string(j, "model", info->model_spec);
    json_field_string(j, "dtype", HG_REAL_NAME);
    json_field_longs(j, "input_shape", dims, nd);
    json_field_int(j, "classes", m->classes);

    json_key(j, "layers");
    json_array_begin(j, 0);
    if (m->nlayers > 0 && m->layers[0].type == LAYER_LINEAR && nd > 1) {
        /* the model takes the example as a flat vector: torch.flatten(x, 1) */
        json_object_begin(j, 1);
        json_field_string(j, "type", "flatten");
        json_field_int(j, "start_dim", 1);
        json_field_longs(j, "in_shape", dims, nd);
        json_field_longs(j, "out_shape", (long[]){shape_size(m->input)}, 1);
        json_object_end(j);
    }
    for (int l = 0; l < m->nlayers; l++)
        layer_json(j, m, &m->layers[l]);
    json_array_end(j);

    json_key(j, "params");
    json_array_begin(j, 0);
    for (int i = 0; i < m->nparam_tensors; i++) {
        const ParamInfo *pi = &m->params[i];
        long shape[4];
        for (int d = 0; d < pi->ndim; d++)
            shape[d] = pi->shape[d];
        json_object_begin(j, 1);
        json_field_string(j, "name", pi->name);
        json_field_longs(j, "shape", shape, pi->ndim);
        json_field_int(j, "offset", pi->offset);
        json_field_int(j, "count", pi->count);
        json_object_end(j);
    }
    json_array_end(j);
    json_field_int(j, "nparams", m->nparams);
    json_key(j, "param_conventions");
    json_put_string(j, "w0 is one flat vector, tensors in this order, C order; conv2d weight "
                   "[out, in, kh, kw] (cross-correlation, stride 1, zero padding), linear "
                   "weight [out, in] with y = x W^T + b; flatten is C order of [C, H, W] "
                   "(torch.flatten(x, 1))");

    json_field_int(j, "steps", s->T);
    json_field_int(j, "batch", p->batch);
    json_field_doubles(j, "lr", s->v[HYPER_LR], s->T);
    json_field_doubles(j, "mom", s->v[HYPER_MOM], s->T);
    json_field_doubles(j, "wd", s->v[HYPER_WD], s->T);
    json_key(j, "clamp");
    if (s->clamp > 0)
        json_double(j, s->clamp);
    else
        json_put_null(j);
    json_key(j, "learn");
    json_object_begin(j, 1);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_int(j, hyper_kind_name(k), h->K[k]);
        }
    json_object_end(j);
    json_key(j, "windows");
    json_object_begin(j, 0);
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        long *starts = mem_alloc(MEM_OTHER, sizeof(long) * (size_t)(h->K[k] + 1));
        for (int w = 0; w <= h->K[k]; w++)
            starts[w] = hyper_window_start(h, k, w);
        json_field_longs(j, hyper_kind_name(k), starts, h->K[k] + 1);
        mem_free(starts);
    }
    json_object_end(j);
    json_key(j, "windows_note");
    json_put_string(j, "window w of a kind covers steps [windows[w], windows[w + 1]); its learned "
                   "value is used by all of them");
    const int vector = hyper_layout_vector(h); /* new members only then: other files keep */
    if (vector) {                               /* their bytes */
        export_json_theta_layout(j, "theta_layout", h);
        json_key(j, "theta_note");
        json_put_string(j, "theta.npy holds the learned values in theta_layout's order (window-"
                       "major, then layers or weights); a kind learned per layer or per weight "
                       "takes its values from there, not from the per-step lr/mom/wd above: at "
                       "step t, entry i of w uses its layer's (per layer) or its own (per weight) "
                       "value of window floor(t windows / steps)");
    }
    json_field_string(j, "hypergrad_order",
                      vector ? "hypergrad.npy holds the lr values, then mom, then wd, each in "
                               "theta_layout's order (learned kinds only)"
                             : "hypergrad.npy holds the lr windows, then mom, then wd (learned "
                               "kinds only)");
    json_field_string(j, "loss", "mean softmax cross-entropy");
    json_field_string(j, "update", vector ? "v = m*v + clamp(g) + wd*w; w = w - lr*v, "
                                            "elementwise over w (lr, m, wd per entry of w)"
                                          : "v = m*v + clamp(g) + wd*w; w = w - lr*v");
    json_key(j, "update_details");
    json_put_string(j, "for t = 0 .. steps-1: g = gradient of the mean loss of batch t (batches "
                   "row t) at w_t; clamp(g) = min(max(g, -c), c) elementwise, none when clamp "
                   "is null; m, wd, lr are mom[t], wd[t], lr[t]; w_0 = w0, v_0 = 0; the "
                   "validation loss is the mean loss of the whole validation set at w_T");
    json_field_string(j, "hypergrad_definition", definition(info));
    if (info->opt.truncate > 0) {
        json_field_int(j, "truncate", info->opt.truncate);
    }
    json_field_double(j, "val_loss", r->val_loss);
    json_field_double(j, "val_acc", r->val_acc);

    json_key(j, "per_step_kinds");
    json_array_begin(j, 1);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k] && r->per_step[k])
            json_put_string(j, hyper_kind_name(k));
    json_array_end(j);
    json_field_int(j, "batches_rows", rows);
    json_field_int(j, "train_examples_used", n_used);
    json_key(j, "files");
    json_object_begin(j, 0);
    json_field_string(j, "w0.npy", "[nparams] initial weights (dtype)");
    json_key(j, "train_x.npy");
    json_put_string(j, "[n, *input_shape] the training examples the run uses, in order of first "
                   "use, normalised (dtype)");
    json_field_string(j, "train_y.npy", "[n] int64 labels of train_x");
    json_key(j, "batches.npy");
    json_put_string(j, "[batches_rows, batch] int64 row indices into train_x; row t is step t's "
                   "batch");
    json_field_string(j, "val_x.npy",
                      "[n_val, *input_shape] the validation set, normalised (dtype)");
    json_field_string(j, "val_y.npy", "[n_val] int64 labels of val_x");
    json_field_string(j, "hypergrad.npy",
                      "[N] float64 hypergradient of the learned values (hypergrad_order)");
    json_key(j, "per_step.npy");
    json_put_string(j, "[len(per_step_kinds), steps] float64 per-step hypergradients (absent when "
                   "per_step_kinds is empty)");
    json_object_end(j);

    json_key(j, "normalization");
    json_object_begin(j, 0);
    json_field_doubles(j, "mean", info->mean, p->train->c);
    json_field_doubles(j, "std", info->std, p->train->c);
    json_key(j, "note");
    json_put_string(j, "train_x and val_x are already normalised, (x - mean[c]) / std[c] with the "
                   "training part's statistics");
    json_object_end(j);
    json_field_string(j, "data", info->data);
    json_field_string(j, "init", info->init);
    if (!strcmp(info->init, "normal")) {
        json_field_double(j, "init_sigma", info->init_sigma);
    }
    json_field_uint(j, "init_seed", info->init_seed);
    json_field_uint(j, "batch_seed", info->batch_seed);
    json_field_uint(j, "val_seed", info->val_seed);
    json_object_end(j);
    return atomic_commit(&af, err);
}

void export_json_theta_layout(JsonWriter *j, const char *key, const HyperLayout *h)
{
    json_key(j, key);
    json_array_begin(j, 0);
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        json_object_begin(j, 1);
        json_field_string(j, "kind", hyper_kind_name(k));
        json_field_string(j, "per", hyper_per_name(h->per[k]));
        json_field_int(j, "windows", h->K[k]);
        json_field_int(j, "width", h->width[k]);
        json_field_int(j, "offset", h->offset[k]);
        json_field_int(j, "count", (long long)h->K[k] * h->width[k]);
        if (h->per[k] == HYPER_PER_LAYER) {
            json_key(j, "layers");
            json_array_begin(j, 1);
            for (int b = 0; b < h->blocks.L; b++)
                json_put_string(j, h->blocks.name[b]);
            json_array_end(j);
            json_field_longs(j, "layer_starts", h->blocks.start, h->blocks.L + 1);
        }
        json_object_end(j);
    }
    if (h->E) { /* per-example loss weights: gamma of examples 0 .. E-1 */
        json_object_begin(j, 1);
        json_field_string(j, "kind", "ex");
        json_field_string(j, "per", "example");
        json_field_int(j, "windows", 1);
        json_field_int(j, "width", h->E);
        json_field_int(j, "offset", h->ex_offset);
        json_field_int(j, "count", h->E);
        json_object_end(j);
    }
    json_array_end(j);
}

int export_problem(const char *dir, const ExportInfo *info, const InnerProblem *p,
                   const HyperLayout *h, const Schedule *s, const EngineResult *r, HgErr *err)
{
    if (info->opt.greedy_online_lr > 0)
        return hg_fail(err, "--export: greedy's online updates change the schedule while it "
                       "runs; the exported schedule would not be the one run");
    if (export_make_dir(dir, err))
        return -1;
    const Model *m = p->model;
    const int rows = s->T + (info->opt.greedy_on_train ? 1 : 0);
    char path[4096];
    long dims[4];
    int n_used = 0;
    if (file_path(path, sizeof path, dir, "w0.npy", err) ||
        npy_write(path, NPY_REAL, (long[]){m->nparams}, 1, p->w0, err) ||
        write_training(dir, p, rows, &n_used, err))
        return -1;

    dims[0] = p->val->n;
    const int nd = 1 + example_shape((Shape){p->val->c, p->val->h, p->val->w}, dims + 1);
    if (file_path(path, sizeof path, dir, "val_x.npy", err) ||
        npy_write(path, NPY_REAL, dims, nd, p->val->x, err) ||
        file_path(path, sizeof path, dir, "val_y.npy", err) ||
        write_int64(path, dims, 1, p->val->y, p->val->n, err))
        return -1;

    if (file_path(path, sizeof path, dir, "hypergrad.npy", err) ||
        npy_write(path, NPY_F8, (long[]){h->N}, 1, r->hypergrad, err))
        return -1;
    if (hyper_layout_vector(h)) { /* the learned values per layer or weight */
        double *theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)h->N);
        hyper_pack(h, s, theta); /* exact for those; per-run kinds: window means */
        const int rc = file_path(path, sizeof path, dir, "theta.npy", err) ||
                       npy_write(path, NPY_F8, (long[]){h->N}, 1, theta, err);
        mem_free(theta);
        if (rc)
            return -1;
    }
    int kinds = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        kinds += h->K[k] && r->per_step[k];
    if (kinds) {
        double *per = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)kinds * (size_t)s->T);
        for (int k = 0, row = 0; k < HYPER_KINDS; k++)
            if (h->K[k] && r->per_step[k])
                memcpy(per + (long)row++ * s->T, r->per_step[k], sizeof(double) * (size_t)s->T);
        const int rc = file_path(path, sizeof path, dir, "per_step.npy", err) ||
                       npy_write(path, NPY_F8, (long[]){kinds, s->T}, 2, per, err);
        mem_free(per);
        if (rc)
            return -1;
    } else if (file_path(path, sizeof path, dir, "per_step.npy", err) == 0) {
        remove(path); /* a stale one from an earlier export would mislead */
    }
    return file_path(path, sizeof path, dir, "problem.json", err) ||
                   write_problem_json(path, info, p, h, s, r, rows, n_used, err)
               ? -1
               : 0;
}
