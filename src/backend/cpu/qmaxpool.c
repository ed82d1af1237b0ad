/* MaxPool on uint8/int8 2-D planes (domain edgerun: what the QDQ fusion leaves of
 * DequantizeLinear → MaxPool → QuantizeLinear). Separable: a horizontal pass takes each
 * input row's window maxima at the output columns, then each output row is the elementwise
 * maximum of its window's rows, a loop the compiler vectorizes. Other shapes (Indices,
 * dilations, 1-D/3-D) run the reference MaxPool. */
#include <string.h>

#include "backend/cpu/qmaxpool.h"
#include "backend/cpu/ref/nn.h"

#define DEFINE_POOL(NAME, T)                                                                                 \
    static void NAME(const T *x, const er_nn_window *w, T *h, T *y)                                        \
    {                                                                                                        \
        const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];                  \
        for (int64_t r = 0; r < ih_n; r++)                                                                   \
            for (int64_t o = 0; o < ow_n; o++) {                                                             \
                int64_t a = o * w->stride[2] - w->pad0[2], lo = a < 0 ? 0 : a;                               \
                int64_t hi = a + w->k[2] < iw_n ? a + w->k[2] : iw_n;                                        \
                T m = x[r * iw_n + lo];                                                                      \
                for (int64_t i = lo + 1; i < hi; i++) m = x[r * iw_n + i] > m ? x[r * iw_n + i] : m;         \
                h[r * ow_n + o] = m;                                                                         \
            }                                                                                                \
        for (int64_t o = 0; o < oh_n; o++) {                                                                 \
            int64_t a = o * w->stride[1] - w->pad0[1], lo = a < 0 ? 0 : a;                                   \
            int64_t hi = a + w->k[1] < ih_n ? a + w->k[1] : ih_n;                                            \
            T *yr = y + o * ow_n;                                                                            \
            memcpy(yr, h + lo * ow_n, sizeof(T) * (size_t)ow_n);                                             \
            for (int64_t r = lo + 1; r < hi; r++)                                                            \
                for (int64_t c = 0; c < ow_n; c++) yr[c] = h[r * ow_n + c] > yr[c] ? h[r * ow_n + c] : yr[c]; \
        }                                                                                                    \
    }

DEFINE_POOL(pool_u8, uint8_t)
DEFINE_POOL(pool_i8, int8_t)

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
             ctx->workspace_bytes >= (size_t)(w.in[1] * w.out[2]);
    if (!simple) return er_nn_maxpool_run(ctx, in, n_in, out, n_out);
    int64_t out_plane = w.out[1] * w.out[2], planes = x->dims[0] * x->dims[1];
    for (int64_t p = 0; p < planes; p++) {
        if (x->dtype == ER_U8)
            pool_u8((const uint8_t *)x->data + p * in_plane, &w, ctx->workspace, (uint8_t *)out[0]->data + p * out_plane);
        else pool_i8((const int8_t *)x->data + p * in_plane, &w, ctx->workspace, (int8_t *)out[0]->data + p * out_plane);
    }
    return ER_OK;
}
