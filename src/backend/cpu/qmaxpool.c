/* MaxPool on uint8/int8 2-D planes (domain edgerun: what the QDQ fusion leaves of
 * DequantizeLinear → MaxPool → QuantizeLinear). Separable: each output row first takes the
 * elementwise maximum of its window's input rows over the full width, then a sliding
 * maximum along that row (padded with the type's minimum), sampled at the output columns.
 * Both inner loops are contiguous, so the compiler vectorizes them (qmaxpool_avx512.c does
 * the same with explicit vectors at strides 1 and 2). Other shapes (Indices,
 * dilations, 1-D/3-D, very wide rows) run the reference MaxPool. */
#include <string.h>

#include "backend/cpu/qmaxpool.h"
#include "backend/cpu/ref/nn.h"
#include "core/cpu.h"

#define ROW_MAX ER_QMAXPOOL_ROW_MAX

#define DEFINE_POOL(NAME, T, TMIN)                                                                           \
    static void NAME(const T *x, const er_nn_window *w, T *y)                                              \
    {                                                                                                        \
        const int64_t ih_n = w->in[1], iw_n = w->in[2], ow_n = w->out[2], kw = w->k[2], p0 = w->pad0[2];     \
        const int64_t width = p0 + iw_n + kw;                                                                \
        T v[ROW_MAX], t[ROW_MAX];                                                                            \
        for (int64_t i = 0; i < width; i++) v[i] = TMIN;                                                     \
        for (int64_t o = 0; o < w->out[1]; o++) {                                                            \
            int64_t a = o * w->stride[1] - w->pad0[1], lo = a < 0 ? 0 : a;                                   \
            int64_t hi = a + w->k[1] < ih_n ? a + w->k[1] : ih_n;                                            \
            T *vr = v + p0;                                                                                  \
            memcpy(vr, x + lo * iw_n, sizeof(T) * (size_t)iw_n);                                             \
            for (int64_t r = lo + 1; r < hi; r++)                                                            \
                for (int64_t c = 0; c < iw_n; c++) vr[c] = x[r * iw_n + c] > vr[c] ? x[r * iw_n + c] : vr[c];  \
            memcpy(t, v, sizeof(T) * (size_t)(width - kw + 1));                                              \
            for (int64_t j = 1; j < kw; j++)                                                                 \
                for (int64_t c = 0; c + kw <= width; c++) t[c] = v[c + j] > t[c] ? v[c + j] : t[c];          \
            for (int64_t c = 0; c < ow_n; c++) y[o * ow_n + c] = t[c * w->stride[2]];                        \
        }                                                                                                    \
    }

DEFINE_POOL(pool_u8, uint8_t, 0)
DEFINE_POOL(pool_i8, int8_t, INT8_MIN)

/* Every window holds at least one input element (pads smaller than the kernel). */
static bool windows_nonempty(const er_nn_window *w)
{
    for (int d = 1; d < 3; d++)
        if (w->pad0[d] >= w->k[d] || w->pad1[d] >= w->k[d]) return false;
    return true;
}

er_status er_qmaxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0];
    int nk = 0;
    const int64_t *k = er_attr_ints(ctx->node, "kernel_shape", &nk);
    er_nn_window w;
    bool simple = x->ndim == 4 && nk == 2 && (n_out < 2 || !out[1]->data) && (x->dtype == ER_U8 || x->dtype == ER_I8);
    if (simple && er_nn_window_forward(ctx, x->dims + 2, k, 2, er_attr_int(ctx->node, "ceil_mode", 0) != 0, &w) != ER_OK)
        return ER_ERR_SHAPE;
    int64_t in_plane = x->dims[2] * x->dims[3];
    simple = simple && w.dil[1] == 1 && w.dil[2] == 1 && windows_nonempty(&w) &&
             w.pad0[2] + w.in[2] + w.k[2] <= ROW_MAX;
    if (!simple) return er_nn_maxpool_run(ctx, in, n_in, out, n_out);
    int64_t out_plane = w.out[1] * w.out[2], planes = x->dims[0] * x->dims[1];
    if (er_cpu_isa() == ER_ISA_AVX512 && (w.stride[2] == 1 || w.stride[2] == 2)) {
        for (int64_t p = 0; p < planes; p++)
            er_qmaxpool_plane_avx512((const uint8_t *)x->data + p * in_plane, &w, x->dtype == ER_I8,
                                     (uint8_t *)out[0]->data + p * out_plane);
        return ER_OK;
    }
    for (int64_t p = 0; p < planes; p++) {
        if (x->dtype == ER_U8)
            pool_u8((const uint8_t *)x->data + p * in_plane, &w, (uint8_t *)out[0]->data + p * out_plane);
        else pool_i8((const int8_t *)x->data + p * in_plane, &w, (int8_t *)out[0]->data + p * out_plane);
    }
    return ER_OK;
}
