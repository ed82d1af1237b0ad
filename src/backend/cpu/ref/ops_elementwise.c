/* Elementwise reference kernels with numpy broadcasting.
 *
 * Each op is a descriptor holding up to three kernel bodies: a native f32 one for the
 * hot paths, one over double (every float dtype, computed after conversion) and one over
 * int64 (every integer and bool dtype). Inputs are converted chunk by chunk, so one body
 * covers all dtypes while f32 models never pay for conversion. */
#include <math.h>
#include <string.h>

#include "backend/cpu/ref/ew_core.h"

typedef struct ew_params {
    double alpha, beta, gamma;
    double lo, hi;           /* Clip bounds */
    int64_t ilo, ihi;
    int mode;                /* Mod: fmod; BitShift: right; Gelu: tanh; IsInf: detect bits */
    double scale;            /* Mean */
} ew_params;

typedef void (*ew_f32_fn)(float *y, const float *const *x, const int64_t *step, int64_t n,
                          const ew_params *p);
typedef void (*ew_f64_fn)(double *y, const double *const *x, int n, const ew_params *p);
typedef void (*ew_i64_fn)(int64_t *y, const int64_t *const *x, int n, const ew_params *p);
typedef er_status (*ew_prep_fn)(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p);

enum { EW_OUT_SAME, EW_OUT_BOOL };
enum {
    EW_F_MIXED = 1,          /* later inputs may have another numeric dtype (Pow) */
    EW_F_UNIDIR = 2,         /* later inputs broadcast to input 0's shape (PRelu) */
    EW_F_VARIADIC = 4,
    EW_F_MEAN = 8
};

typedef struct ew_desc {
    int n_bcast;             /* inputs that broadcast together; variadic ops use all */
    int min_in, max_in;
    unsigned types;          /* accepted dtypes of input 0 */
    int out;
    unsigned flags;
    float alpha, beta, gamma; /* attribute defaults */
    ew_f32_fn f32;
    ew_f64_fn f64;
    ew_i64_fn i64;
    ew_prep_fn prep;
} ew_desc;

/* ---- kernel bodies ------------------------------------------------------------------ */

#define F32_1(NAME, EXPR)                                                                    \
    static void NAME##_f32(float *y, const float *const *xs, const int64_t *step, int64_t n, \
                           const ew_params *p)                                             \
    {                                                                                      \
        const float *x0 = xs[0];                                                           \
        (void)p;                                                                           \
        (void)step;                                                                        \
        for (int64_t i = 0; i < n; i++) {                                                  \
            float x = x0[i];                                                               \
            y[i] = (EXPR);                                                                 \
        }                                                                                  \
    }

#define F64_1(NAME, EXPR)                                                                   \
    static void NAME##_f64(double *y, const double *const *xs, int n, const ew_params *p) \
    {                                                                                     \
        const double *x0 = xs[0];                                                         \
        (void)p;                                                                          \
        for (int i = 0; i < n; i++) {                                                     \
            double x = x0[i];                                                             \
            y[i] = (EXPR);                                                                \
        }                                                                                 \
    }

#define I64_1(NAME, EXPR)                                                                     \
    static void NAME##_i64(int64_t *y, const int64_t *const *xs, int n, const ew_params *p) \
    {                                                                                       \
        const int64_t *x0 = xs[0];                                                          \
        (void)p;                                                                            \
        for (int i = 0; i < n; i++) {                                                       \
            int64_t x = x0[i];                                                              \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    }

/* Broadcast operands arrive with step 0: separate loops keep the common cases
 * vectorizable. */
#define F32_2(NAME, EXPR)                                                                    \
    static void NAME##_f32(float *y, const float *const *xs, const int64_t *step, int64_t n, \
                           const ew_params *p)                                             \
    {                                                                                      \
        const float *A = xs[0], *B = xs[1];                                                \
        (void)p;                                                                           \
        if (step[0] && step[1]) {                                                          \
            for (int64_t i = 0; i < n; i++) {                                              \
                float a = A[i], b = B[i];                                                  \
                y[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (step[0]) {                                                              \
            float b = B[0];                                                                \
            for (int64_t i = 0; i < n; i++) {                                              \
                float a = A[i];                                                            \
                y[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (step[1]) {                                                              \
            float a = A[0];                                                                \
            for (int64_t i = 0; i < n; i++) {                                              \
                float b = B[i];                                                            \
                y[i] = (EXPR);                                                             \
            }                                                                              \
        } else {                                                                           \
            float a = A[0], b = B[0], v = (EXPR);                                          \
            for (int64_t i = 0; i < n; i++) y[i] = v;                                      \
        }                                                                                  \
    }

#define F64_2(NAME, EXPR)                                                                   \
    static void NAME##_f64(double *y, const double *const *xs, int n, const ew_params *p) \
    {                                                                                     \
        const double *A = xs[0], *B = xs[1];                                              \
        (void)p;                                                                          \
        for (int i = 0; i < n; i++) {                                                     \
            double a = A[i], b = B[i];                                                    \
            y[i] = (EXPR);                                                                \
        }                                                                                 \
    }

#define I64_2(NAME, EXPR)                                                                     \
    static void NAME##_i64(int64_t *y, const int64_t *const *xs, int n, const ew_params *p) \
    {                                                                                       \
        const int64_t *A = xs[0], *B = xs[1];                                               \
        (void)p;                                                                            \
        for (int i = 0; i < n; i++) {                                                       \
            int64_t a = A[i], b = B[i];                                                     \
            y[i] = (EXPR);                                                                  \
        }                                                                                   \
    }

/* Signed overflow is UB in C; integer tensors wrap like two's complement hardware. */
#define WRAP(OP, a, b) ((int64_t)((uint64_t)(a) OP (uint64_t)(b)))

static int64_t idiv(int64_t a, int64_t b)
{
    if (b == 0) return 0;
    if (b == -1) return WRAP(-, 0, a);
    return a / b;
}

static int64_t imod(int64_t a, int64_t b, int c_style)
{
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    if (!c_style && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

static double fmod_py(double a, double b, int c_style)
{
    double r = fmod(a, b);
    if (!c_style && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

static int64_t ipow(int64_t base, int64_t e)
{
    if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)base;
    for (uint64_t k = (uint64_t)e; k; k >>= 1) {
        if (k & 1) r *= b;
        b *= b;
    }
    return (int64_t)r;
}

static int64_t ishift(int64_t a, int64_t s, int right)
{
    uint64_t ua = (uint64_t)a, us = (uint64_t)s;
    if (us >= 64) return 0;
    return (int64_t)(right ? ua >> us : ua << us);
}

static float sigmoidf_(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static double sigmoid_(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double softplus_(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

static float geluf_(float x, int tanh_approx)
{
    if (tanh_approx)
        return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}

static double gelu_(double x, int tanh_approx)
{
    if (tanh_approx) return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476));
}

static double sign_(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x; }

static bool isinf_(double x, int mode)
{
    return isinf(x) && ((x > 0 && (mode & 1)) || (x < 0 && (mode & 2)));
}

F32_1(sqrt, sqrtf(x))               F64_1(sqrt, sqrt(x))
F32_1(exp, expf(x))                 F64_1(exp, exp(x))
F32_1(log, logf(x))                 F64_1(log, log(x))
F32_1(recip, 1.0f / x)              F64_1(recip, 1.0 / x)
F32_1(neg, -x)                      F64_1(neg, -x)             I64_1(neg, WRAP(-, 0, x))
F32_1(abs, fabsf(x))                F64_1(abs, fabs(x))        I64_1(abs, x < 0 ? WRAP(-, 0, x) : x)
F64_1(floor, floor(x))
F64_1(ceil, ceil(x))
F64_1(round, nearbyint(x))
F64_1(sign, sign_(x))               I64_1(sign, (x > 0) - (x < 0))
F64_1(sin, sin(x))
F64_1(cos, cos(x))
F64_1(tan, tan(x))
F64_1(asin, asin(x))
F64_1(acos, acos(x))
F64_1(atan, atan(x))
F64_1(sinh, sinh(x))
F64_1(cosh, cosh(x))
F64_1(asinh, asinh(x))
F64_1(acosh, acosh(x))
F64_1(atanh, atanh(x))
F32_1(relu, x > 0 ? x : 0.0f)       F64_1(relu, x > 0 ? x : 0.0) I64_1(relu, x > 0 ? x : 0)
F32_1(leaky, x < 0 ? (float)p->alpha * x : x)
F64_1(leaky, x < 0 ? p->alpha * x : x)
F32_1(sigmoid, sigmoidf_(x))        F64_1(sigmoid, sigmoid_(x))
F32_1(hsigmoid, fmaxf(0.0f, fminf(1.0f, (float)p->alpha * x + (float)p->beta)))
F64_1(hsigmoid, fmax(0.0, fmin(1.0, p->alpha * x + p->beta)))
F32_1(hswish, x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f)))
F64_1(hswish, x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)))
F32_1(tanh, tanhf(x))               F64_1(tanh, tanh(x))
F64_1(elu, x >= 0 ? x : p->alpha * (exp(x) - 1.0))
F64_1(selu, x > 0 ? p->gamma * x : p->gamma * (p->alpha * exp(x) - p->alpha))
F64_1(celu, fmax(0.0, x) + fmin(0.0, p->alpha * (exp(x / p->alpha) - 1.0)))
F64_1(softplus, softplus_(x))
F64_1(softsign, x / (1.0 + fabs(x)))
F32_1(erf, erff(x))                 F64_1(erf, erf(x))
F32_1(gelu, geluf_(x, p->mode))     F64_1(gelu, gelu_(x, p->mode))
F64_1(mish, x * tanh(softplus_(x)))
F64_1(threlu, x > p->alpha ? x : 0.0)
F64_1(isnan, x != x)
F64_1(isinf, isinf_(x, p->mode))
I64_1(not, !x)
I64_1(bnot, ~x)
F32_1(clip, x < (float)p->lo ? (float)p->lo : x > (float)p->hi ? (float)p->hi : x)
F64_1(clip, x < p->lo ? p->lo : x > p->hi ? p->hi : x)
I64_1(clip, x < p->ilo ? p->ilo : x > p->ihi ? p->ihi : x)
F32_1(scale, x * (float)p->scale)   F64_1(scale, x * p->scale)
F64_1(copy, x)                      I64_1(copy, x)

F32_2(add, a + b)                   F64_2(add, a + b)          I64_2(add, WRAP(+, a, b))
F32_2(sub, a - b)                   F64_2(sub, a - b)          I64_2(sub, WRAP(-, a, b))
F32_2(mul, a * b)                   F64_2(mul, a * b)          I64_2(mul, WRAP(*, a, b))
F32_2(div, a / b)                   F64_2(div, a / b)          I64_2(div, idiv(a, b))
F32_2(pow, powf(a, b))              F64_2(pow, pow(a, b))      I64_2(pow, ipow(a, b))
F64_2(mod, fmod_py(a, b, p->mode))  I64_2(mod, imod(a, b, p->mode))
/* NaN propagates like numpy's minimum/maximum. */
F32_2(min, (a < b || a != a) ? a : b)
F64_2(min, (a < b || a != a) ? a : b)
I64_2(min, a < b ? a : b)
F32_2(max, (a > b || a != a) ? a : b)
F64_2(max, (a > b || a != a) ? a : b)
I64_2(max, a > b ? a : b)
F64_2(eq, a == b)                   I64_2(eq, a == b)
F64_2(lt, a < b)                    I64_2(lt, a < b)
F64_2(gt, a > b)                    I64_2(gt, a > b)
F64_2(le, a <= b)                   I64_2(le, a <= b)
F64_2(ge, a >= b)                   I64_2(ge, a >= b)
I64_2(and, a && b)
I64_2(or, a || b)
I64_2(xor, !a != !b)
I64_2(band, a & b)
I64_2(bor, a | b)
I64_2(bxor, a ^ b)
I64_2(shift, ishift(a, b, p->mode))
F32_2(prelu, a < 0 ? a * b : a)     F64_2(prelu, a < 0 ? a * b : a) I64_2(prelu, a < 0 ? WRAP(*, a, b) : a)

/* ---- attribute preparation ---------------------------------------------------------- */

static er_status prep_mod(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p)
{
    (void)n_in;
    p->mode = er_attr_int(ctx->node, "fmod", 0) != 0;
    if (!p->mode && er_dtype_is_float(in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_INVALID_ARG, "fmod must be 1 for floating-point inputs");
    return ER_OK;
}

static er_status prep_shift(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p)
{
    (void)in;
    (void)n_in;
    const char *dir = er_attr_str(ctx->node, "direction", "");
    if (strcmp(dir, "LEFT") == 0) p->mode = 0;
    else if (strcmp(dir, "RIGHT") == 0) p->mode = 1;
    else return er_op_fail(ctx, ER_ERR_INVALID_ARG, "direction must be LEFT or RIGHT, got '%s'", dir);
    return ER_OK;
}

static er_status prep_gelu(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p)
{
    (void)in;
    (void)n_in;
    const char *a = er_attr_str(ctx->node, "approximate", "none");
    if (strcmp(a, "none") == 0) p->mode = 0;
    else if (strcmp(a, "tanh") == 0) p->mode = 1;
    else return er_op_fail(ctx, ER_ERR_INVALID_ARG, "approximate must be 'none' or 'tanh', got '%s'", a);
    return ER_OK;
}

static er_status prep_isinf(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p)
{
    (void)in;
    (void)n_in;
    p->mode = (er_attr_int(ctx->node, "detect_positive", 1) ? 1 : 0) |
              (er_attr_int(ctx->node, "detect_negative", 1) ? 2 : 0);
    return ER_OK;
}

/* Bounds are attributes before opset 11 and optional scalar inputs after. */
static er_status prep_clip(er_kctx *ctx, er_tensor **in, int n_in, ew_params *p)
{
    p->lo = -INFINITY;
    p->hi = INFINITY;
    p->ilo = INT64_MIN;
    p->ihi = INT64_MAX;
    if (ctx->opset < 11) {
        p->lo = er_attr_float(ctx->node, "min", -INFINITY);
        p->hi = er_attr_float(ctx->node, "max", INFINITY);
        return ER_OK;
    }
    for (int k = 1; k < n_in && k < 3; k++) {
        const er_tensor *b = in[k];
        if (!b) continue;
        if (b->dtype != in[0]->dtype)
            return er_op_fail(ctx, ER_ERR_DTYPE, "%s has dtype %s, expected %s like the input",
                              k == 1 ? "min" : "max", er_dtype_name(b->dtype), er_dtype_name(in[0]->dtype));
        if (er_tensor_numel(b) != 1)
            return er_op_fail(ctx, ER_ERR_SHAPE, "%s must be a scalar, got %lld elements",
                              k == 1 ? "min" : "max", (long long)er_tensor_numel(b));
        if (!b->data) continue;
        double v = er_get_f64(b->data, b->dtype, 0);
        int64_t iv = er_get_i64(b->data, b->dtype, 0);
        if (k == 1) { p->lo = v; p->ilo = iv; }
        else { p->hi = v; p->ihi = iv; }
    }
    return ER_OK;
}

/* ---- generic infer / run ------------------------------------------------------------ */

enum { DOM_F32, DOM_F64, DOM_I64 };

typedef struct ew_job {
    const ew_desc *d;
    const ew_params *p;
    const void *x[EW_MAX_IN];
    er_dtype xt[EW_MAX_IN];
    int n;
    void *y;
    er_dtype yt;
    int dom;
} ew_job;

static void ew_row_f32(const ew_job *j, int64_t yo, const int64_t *xo, const int64_t *step, int64_t n)
{
    const float *x[EW_MAX_IN];
    for (int k = 0; k < j->n; k++) x[k] = (const float *)j->x[k] + xo[k];
    j->d->f32((float *)j->y + yo, x, step, n, j->p);
}

static void ew_row_f64(const ew_job *j, int64_t yo, const int64_t *xo, const int64_t *step, int64_t n)
{
    double buf[EW_MAX_IN][EW_CHUNK], y[EW_CHUNK];
    const double *x[EW_MAX_IN];
    for (int64_t c = 0; c < n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, n - c);
        for (int k = 0; k < j->n; k++) {
            ew_load_f64(j->x[k], j->xt[k], xo[k] + c * step[k], step[k], m, buf[k]);
            x[k] = buf[k];
        }
        j->d->f64(y, x, m, j->p);
        ew_store_f64(j->y, j->yt, yo + c, 1, m, y);
    }
}

static void ew_row_i64(const ew_job *j, int64_t yo, const int64_t *xo, const int64_t *step, int64_t n)
{
    int64_t buf[EW_MAX_IN][EW_CHUNK], y[EW_CHUNK];
    const int64_t *x[EW_MAX_IN];
    for (int64_t c = 0; c < n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, n - c);
        for (int k = 0; k < j->n; k++) {
            ew_load_i64(j->x[k], j->xt[k], xo[k] + c * step[k], step[k], m, buf[k]);
            x[k] = buf[k];
        }
        j->d->i64(y, x, m, j->p);
        ew_store_i64(j->y, j->yt, yo + c, 1, m, y);
    }
}

static void ew_row(void *vjob, int64_t yo, const int64_t *xo, const int64_t *step, int64_t n)
{
    const ew_job *j = vjob;
    if (j->dom == DOM_F32) ew_row_f32(j, yo, xo, step, n);
    else if (j->dom == DOM_F64) ew_row_f64(j, yo, xo, step, n);
    else ew_row_i64(j, yo, xo, step, n);
}

/* Float inputs compute in double, integer and bool inputs in int64, all-f32 natively. */
static er_status ew_apply(er_kctx *ctx, const ew_desc *d, const ew_params *p,
                          const er_tensor *const *x, int n, er_tensor *y)
{
    ew_job j = { .d = d, .p = p, .n = n, .y = y->data, .yt = y->dtype };
    bool all_f32 = y->dtype == ER_F32, any_float = false;
    for (int k = 0; k < n; k++) {
        j.x[k] = x[k]->data;
        j.xt[k] = x[k]->dtype;
        all_f32 &= x[k]->dtype == ER_F32;
        any_float |= er_dtype_is_float(x[k]->dtype);
    }
    /* int64 cannot hold the top half of u64, so u64 -> float converts through double. */
    bool u64_to_float = x[0]->dtype == ER_U64 && er_dtype_is_float(y->dtype);
    if (all_f32 && d->f32) j.dom = DOM_F32;
    else if ((any_float || u64_to_float) && d->f64) j.dom = DOM_F64;
    else if (!any_float && d->i64) j.dom = DOM_I64;
    else if (d->f64) j.dom = DOM_F64;
    else return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "dtype %s is not implemented", er_dtype_name(x[0]->dtype));
    ew_loop l;
    ew_loop_init(&l, y->dims, y->ndim, x, n);
    ew_loop_run(&l, ctx->pool, ew_row, &j);
    return ER_OK;
}

static er_status ew_check_types(er_kctx *ctx, const ew_desc *d, er_tensor **in, int nb)
{
    er_dtype dt = in[0]->dtype;
    if (!ew_has(d->types, dt))
        return er_op_fail(ctx, ER_ERR_DTYPE, "input 0 has dtype %s, which this op does not accept",
                          er_dtype_name(dt));
    for (int k = 1; k < nb; k++) {
        if (d->flags & EW_F_MIXED) {
            if (!ew_has(EW_NUMS, in[k]->dtype))
                return er_op_fail(ctx, ER_ERR_DTYPE, "input %d has non-numeric dtype %s", k,
                                  er_dtype_name(in[k]->dtype));
        } else if (in[k]->dtype != dt) {
            return er_op_fail(ctx, ER_ERR_DTYPE, "input %d has dtype %s, expected %s like input 0", k,
                              er_dtype_name(in[k]->dtype), er_dtype_name(dt));
        }
    }
    return ER_OK;
}

/* Broadcast shape of in[0..n). */
static er_status ew_bcast_shape(er_kctx *ctx, er_tensor **in, int n, int64_t *dims, int *nd)
{
    *nd = in[0]->ndim;
    memcpy(dims, in[0]->dims, sizeof(int64_t) * (size_t)in[0]->ndim);
    for (int k = 1; k < n; k++) {
        int64_t prev[ER_MAX_DIMS];
        int pn = *nd;
        memcpy(prev, dims, sizeof(int64_t) * (size_t)pn);
        er_status st = er_broadcast_shape(ctx, prev, pn, in[k]->dims, in[k]->ndim, dims, nd);
        if (st != ER_OK) return st;
    }
    return ER_OK;
}

static int ew_n_bcast(const ew_desc *d, int n_in)
{
    return (d->flags & EW_F_VARIADIC) ? n_in : d->n_bcast;
}

static er_status ew_infer(er_kctx *ctx, const ew_desc *d, er_tensor **in, int n_in, er_tensor **out,
                          int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, d->min_in, d->max_in);
    if (st != ER_OK) return st;
    if (n_out < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "expects 1 output, got none");
    int nb = ew_n_bcast(d, n_in);
    for (int k = 0; k < nb; k++)
        if (!in[k]) return er_op_fail(ctx, ER_ERR_FORMAT, "input %d is required", k);
    if ((st = ew_check_types(ctx, d, in, nb)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    if ((st = ew_bcast_shape(ctx, in, nb, dims, &nd)) != ER_OK) return st;
    if ((d->flags & EW_F_UNIDIR) && !er_shape_equal(dims, nd, in[0]->dims, in[0]->ndim)) {
        char a[128], b[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "input 1 of shape %s does not broadcast to input 0's shape %s",
                          er_shape_str(in[1]->dims, in[1]->ndim, a, sizeof a),
                          er_shape_str(in[0]->dims, in[0]->ndim, b, sizeof b));
    }
    er_tensor_set_shape(out[0], d->out == EW_OUT_BOOL ? ER_BOOL : in[0]->dtype, dims, nd);
    if (d->prep) {
        ew_params p;
        memset(&p, 0, sizeof p);
        return d->prep(ctx, in, n_in, &p);
    }
    return ER_OK;
}

static const ew_desc d_scale = { .n_bcast = 1, .min_in = 1, .max_in = 1, .types = EW_FLOATS,
                                 .f32 = scale_f32, .f64 = scale_f64 };

/* Variadic ops fold their inputs pairwise into the output, which already has the full
 * broadcast shape, so later passes read and write it in place. */
static er_status ew_run_variadic(er_kctx *ctx, const ew_desc *d, ew_params *p, er_tensor **in, int n_in,
                                 er_tensor *y)
{
    er_status st;
    if (n_in == 1) {
        size_t bytes = er_tensor_nbytes(y);
        if (bytes) memcpy(y->data, in[0]->data, bytes);
        return ER_OK;
    }
    const er_tensor *first[2] = { in[0], in[1] };
    if ((st = ew_apply(ctx, d, p, first, 2, y)) != ER_OK) return st;
    for (int k = 2; k < n_in; k++) {
        const er_tensor *pair[2] = { y, in[k] };
        if ((st = ew_apply(ctx, d, p, pair, 2, y)) != ER_OK) return st;
    }
    if (d->flags & EW_F_MEAN) {
        const er_tensor *self[1] = { y };
        p->scale = 1.0 / n_in;
        return ew_apply(ctx, &d_scale, p, self, 1, y);
    }
    return ER_OK;
}

static er_status ew_run(er_kctx *ctx, const ew_desc *d, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor *y = out[0];
    if (!y->data) return ER_OK;
    ew_params p;
    memset(&p, 0, sizeof p);
    p.alpha = er_attr_float(ctx->node, "alpha", d->alpha);
    p.beta = er_attr_float(ctx->node, "beta", d->beta);
    p.gamma = er_attr_float(ctx->node, "gamma", d->gamma);
    er_status st;
    if (d->prep && (st = d->prep(ctx, in, n_in, &p)) != ER_OK) return st;
    if (d->flags & EW_F_VARIADIC) return ew_run_variadic(ctx, d, &p, in, n_in, y);
    return ew_apply(ctx, d, &p, (const er_tensor *const *)in, d->n_bcast, y);
}

/* ---- op descriptors ------------------------------------------------------------------ */

#define UNARY(TYPES, ...) { .n_bcast = 1, .min_in = 1, .max_in = 1, .types = (TYPES), __VA_ARGS__ }
#define BINARY(TYPES, ...) { .n_bcast = 2, .min_in = 2, .max_in = 2, .types = (TYPES), __VA_ARGS__ }
#define VARIADIC(TYPES, FLAGS, ...) \
    { .n_bcast = 0, .min_in = 1, .max_in = 1 << 20, .types = (TYPES), .flags = EW_F_VARIADIC | (FLAGS), __VA_ARGS__ }
#define FLT(NAME) .f32 = NAME##_f32, .f64 = NAME##_f64
#define DBL(NAME) .f64 = NAME##_f64
#define INT(NAME) .i64 = NAME##_i64

#define EW_OP(NAME, ...)                                                                     \
    static const ew_desc d_##NAME = __VA_ARGS__;                                             \
    static er_status NAME##_infer(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no) \
    {                                                                                        \
        return ew_infer(c, &d_##NAME, i, ni, o, no);                                         \
    }                                                                                        \
    static er_status NAME##_run(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no)   \
    {                                                                                        \
        return ew_run(c, &d_##NAME, i, ni, o, no);                                           \
    }

#define NUMS_B (EW_NUMS | EW_BOOLS)
#define SIGNED (EW_FLOATS | EW_SINTS)

EW_OP(Add, BINARY(EW_NUMS, FLT(add), INT(add)))
EW_OP(Sub, BINARY(EW_NUMS, FLT(sub), INT(sub)))
EW_OP(Mul, BINARY(EW_NUMS, FLT(mul), INT(mul)))
EW_OP(Div, BINARY(EW_NUMS, FLT(div), INT(div)))
EW_OP(Pow, BINARY(EW_NUMS, .flags = EW_F_MIXED, FLT(pow), INT(pow)))
EW_OP(Mod, BINARY(EW_NUMS, DBL(mod), INT(mod), .prep = prep_mod))
EW_OP(PRelu, BINARY(EW_NUMS, .flags = EW_F_UNIDIR, FLT(prelu), INT(prelu)))
EW_OP(Equal, BINARY(NUMS_B, .out = EW_OUT_BOOL, DBL(eq), INT(eq)))
EW_OP(Less, BINARY(EW_NUMS, .out = EW_OUT_BOOL, DBL(lt), INT(lt)))
EW_OP(Greater, BINARY(EW_NUMS, .out = EW_OUT_BOOL, DBL(gt), INT(gt)))
EW_OP(LessOrEqual, BINARY(EW_NUMS, .out = EW_OUT_BOOL, DBL(le), INT(le)))
EW_OP(GreaterOrEqual, BINARY(EW_NUMS, .out = EW_OUT_BOOL, DBL(ge), INT(ge)))
EW_OP(And, BINARY(EW_BOOLS, INT(and)))
EW_OP(Or, BINARY(EW_BOOLS, INT(or)))
EW_OP(Xor, BINARY(EW_BOOLS, INT(xor)))
EW_OP(BitwiseAnd, BINARY(EW_INTS, INT(band)))
EW_OP(BitwiseOr, BINARY(EW_INTS, INT(bor)))
EW_OP(BitwiseXor, BINARY(EW_INTS, INT(bxor)))
EW_OP(BitShift, BINARY(EW_UINTS, INT(shift), .prep = prep_shift))
EW_OP(Min, VARIADIC(EW_NUMS, 0, FLT(min), INT(min)))
EW_OP(Max, VARIADIC(EW_NUMS, 0, FLT(max), INT(max)))
EW_OP(Sum, VARIADIC(EW_NUMS, 0, FLT(add), INT(add)))
EW_OP(Mean, VARIADIC(EW_FLOATS, EW_F_MEAN, FLT(add)))

EW_OP(Sqrt, UNARY(EW_FLOATS, FLT(sqrt)))
EW_OP(Exp, UNARY(EW_FLOATS, FLT(exp)))
EW_OP(Log, UNARY(EW_FLOATS, FLT(log)))
EW_OP(Reciprocal, UNARY(EW_FLOATS, FLT(recip)))
EW_OP(Neg, UNARY(SIGNED, FLT(neg), INT(neg)))
EW_OP(Abs, UNARY(EW_NUMS, FLT(abs), INT(abs)))
EW_OP(Floor, UNARY(EW_FLOATS, DBL(floor)))
EW_OP(Ceil, UNARY(EW_FLOATS, DBL(ceil)))
EW_OP(Round, UNARY(EW_FLOATS, DBL(round)))
EW_OP(Sign, UNARY(EW_NUMS, DBL(sign), INT(sign)))
EW_OP(Sin, UNARY(EW_FLOATS, DBL(sin)))
EW_OP(Cos, UNARY(EW_FLOATS, DBL(cos)))
EW_OP(Tan, UNARY(EW_FLOATS, DBL(tan)))
EW_OP(Asin, UNARY(EW_FLOATS, DBL(asin)))
EW_OP(Acos, UNARY(EW_FLOATS, DBL(acos)))
EW_OP(Atan, UNARY(EW_FLOATS, DBL(atan)))
EW_OP(Sinh, UNARY(EW_FLOATS, DBL(sinh)))
EW_OP(Cosh, UNARY(EW_FLOATS, DBL(cosh)))
EW_OP(Asinh, UNARY(EW_FLOATS, DBL(asinh)))
EW_OP(Acosh, UNARY(EW_FLOATS, DBL(acosh)))
EW_OP(Atanh, UNARY(EW_FLOATS, DBL(atanh)))
EW_OP(Relu, UNARY(SIGNED, FLT(relu), INT(relu)))
EW_OP(LeakyRelu, UNARY(EW_FLOATS, .alpha = 0.01f, FLT(leaky)))
EW_OP(Sigmoid, UNARY(EW_FLOATS, FLT(sigmoid)))
EW_OP(HardSigmoid, UNARY(EW_FLOATS, .alpha = 0.2f, .beta = 0.5f, FLT(hsigmoid)))
EW_OP(HardSwish, UNARY(EW_FLOATS, FLT(hswish)))
EW_OP(Tanh, UNARY(EW_FLOATS, FLT(tanh)))
EW_OP(Elu, UNARY(EW_FLOATS, .alpha = 1.0f, DBL(elu)))
EW_OP(Selu, UNARY(EW_FLOATS, .alpha = 1.67326319217681884765625f, .gamma = 1.05070102214813232421875f,
                  DBL(selu)))
EW_OP(Celu, UNARY(EW_FLOATS, .alpha = 1.0f, DBL(celu)))
EW_OP(Softplus, UNARY(EW_FLOATS, DBL(softplus)))
EW_OP(Softsign, UNARY(EW_FLOATS, DBL(softsign)))
EW_OP(Erf, UNARY(EW_FLOATS, FLT(erf)))
EW_OP(Gelu, UNARY(EW_FLOATS, FLT(gelu), .prep = prep_gelu))
EW_OP(Mish, UNARY(EW_FLOATS, DBL(mish)))
EW_OP(ThresholdedRelu, UNARY(EW_FLOATS, .alpha = 1.0f, DBL(threlu)))
EW_OP(IsNaN, UNARY(EW_FLOATS, .out = EW_OUT_BOOL, DBL(isnan)))
EW_OP(IsInf, UNARY(EW_FLOATS, .out = EW_OUT_BOOL, DBL(isinf), .prep = prep_isinf))
EW_OP(Not, UNARY(EW_BOOLS, INT(not)))
EW_OP(BitwiseNot, UNARY(EW_INTS, INT(bnot)))
EW_OP(Clip, { .n_bcast = 1, .min_in = 1, .max_in = 3, .types = EW_NUMS, FLT(clip), INT(clip),
              .prep = prep_clip })

/* ---- Where ---------------------------------------------------------------------------- */

static er_status Where_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 3, 3);
    if (st != ER_OK) return st;
    if (n_out < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "expects 1 output, got none");
    if (!in[0] || !in[1] || !in[2]) return er_op_fail(ctx, ER_ERR_FORMAT, "all three inputs are required");
    if (in[0]->dtype != ER_BOOL)
        return er_op_fail(ctx, ER_ERR_DTYPE, "condition has dtype %s, expected bool", er_dtype_name(in[0]->dtype));
    if (in[1]->dtype != in[2]->dtype)
        return er_op_fail(ctx, ER_ERR_DTYPE, "X is %s but Y is %s", er_dtype_name(in[1]->dtype),
                          er_dtype_name(in[2]->dtype));
    if (er_dtype_size(in[1]->dtype) == 0 || in[1]->dtype == ER_STRING)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "dtype %s is not supported", er_dtype_name(in[1]->dtype));
    int64_t dims[ER_MAX_DIMS];
    int nd;
    if ((st = ew_bcast_shape(ctx, in, 3, dims, &nd)) != ER_OK) return st;
    er_tensor_set_shape(out[0], in[1]->dtype, dims, nd);
    return ER_OK;
}

typedef struct {
    const uint8_t *c;
    const void *x, *y;
    void *o;
    size_t es;
} where_job;

#define WHERE_COPY(T)                                                                 \
    do {                                                                              \
        const T *x = (const T *)j->x + xo[1], *y = (const T *)j->y + xo[2];           \
        T *o = (T *)j->o + yo;                                                        \
        for (int64_t i = 0; i < n; i++) o[i] = c[i * step[0]] ? x[i * step[1]] : y[i * step[2]]; \
    } while (0)

static void where_row(void *vjob, int64_t yo, const int64_t *xo, const int64_t *step, int64_t n)
{
    const where_job *j = vjob;
    const uint8_t *c = j->c + xo[0];
    switch (j->es) {
    case 1: WHERE_COPY(uint8_t); break;
    case 2: WHERE_COPY(uint16_t); break;
    case 4: WHERE_COPY(uint32_t); break;
    default: WHERE_COPY(uint64_t); break;
    }
}

static er_status Where_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    (void)n_out;
    er_tensor *y = out[0];
    if (!y->data) return ER_OK;
    where_job j = { in[0]->data, in[1]->data, in[2]->data, y->data, er_dtype_size(y->dtype) };
    ew_loop l;
    ew_loop_init(&l, y->dims, y->ndim, (const er_tensor *const *)in, 3);
    ew_loop_run(&l, ctx->pool, where_row, &j);
    return ER_OK;
}

/* ---- Cast / CastLike ------------------------------------------------------------------ */

static const ew_desc d_copy = { .n_bcast = 1, .min_in = 1, .max_in = 1, .types = NUMS_B,
                                DBL(copy), INT(copy) };

static bool castable(er_dtype dt) { return dt != ER_STRING && er_dtype_valid(dt); }

static er_status cast_infer_to(er_kctx *ctx, er_tensor **in, er_tensor **out, er_dtype to)
{
    if (!in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "input is required");
    if (!castable(in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "cannot cast from dtype %s", er_dtype_name(in[0]->dtype));
    if (!castable(to)) return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "cannot cast to dtype %d", (int)to);
    er_tensor_set_shape(out[0], to, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status Cast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    if (n_out < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "expects 1 output, got none");
    if (!er_node_attr(ctx->node, "to")) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute 'to' is required");
    return cast_infer_to(ctx, in, out, (er_dtype)er_attr_int(ctx->node, "to", 0));
}

static er_status CastLike_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 2);
    if (st != ER_OK) return st;
    if (n_out < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "expects 1 output, got none");
    if (!in[1]) return er_op_fail(ctx, ER_ERR_FORMAT, "target_type input is required");
    return cast_infer_to(ctx, in, out, in[1]->dtype);
}

static er_status Cast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    (void)n_out;
    er_tensor *y = out[0];
    if (!y->data) return ER_OK;
    if (in[0]->dtype == y->dtype) {
        size_t bytes = er_tensor_nbytes(y);
        if (bytes) memcpy(y->data, in[0]->data, bytes);
        return ER_OK;
    }
    ew_params p;
    memset(&p, 0, sizeof p);
    return ew_apply(ctx, &d_copy, &p, (const er_tensor *const *)in, 1, y);
}

#define ENTRY(NAME) { .name = #NAME, .infer = NAME##_infer, .run = NAME##_run }

const er_op er_ops_elementwise[] = {
    ENTRY(Add), ENTRY(Sub), ENTRY(Mul), ENTRY(Div), ENTRY(Pow), ENTRY(Mod), ENTRY(PRelu),
    ENTRY(Equal), ENTRY(Less), ENTRY(Greater), ENTRY(LessOrEqual), ENTRY(GreaterOrEqual),
    ENTRY(And), ENTRY(Or), ENTRY(Xor), ENTRY(BitwiseAnd), ENTRY(BitwiseOr), ENTRY(BitwiseXor),
    ENTRY(BitShift), ENTRY(Min), ENTRY(Max), ENTRY(Sum), ENTRY(Mean),
    ENTRY(Sqrt), ENTRY(Exp), ENTRY(Log), ENTRY(Reciprocal), ENTRY(Neg), ENTRY(Abs),
    ENTRY(Floor), ENTRY(Ceil), ENTRY(Round), ENTRY(Sign), ENTRY(Sin), ENTRY(Cos), ENTRY(Tan),
    ENTRY(Asin), ENTRY(Acos), ENTRY(Atan), ENTRY(Sinh), ENTRY(Cosh), ENTRY(Asinh), ENTRY(Acosh),
    ENTRY(Atanh), ENTRY(Relu), ENTRY(LeakyRelu), ENTRY(Sigmoid), ENTRY(HardSigmoid),
    ENTRY(HardSwish), ENTRY(Tanh), ENTRY(Elu), ENTRY(Selu), ENTRY(Celu), ENTRY(Softplus),
    ENTRY(Softsign), ENTRY(Erf), ENTRY(Gelu), ENTRY(Mish), ENTRY(ThresholdedRelu), ENTRY(IsNaN),
    ENTRY(IsInf), ENTRY(Not), ENTRY(BitwiseNot), ENTRY(Clip), ENTRY(Where),
    { .name = "Cast", .infer = Cast_infer, .run = Cast_run },
    { .name = "CastLike", .infer = CastLike_infer, .run = Cast_run },
    { .name = NULL },
};
