/* Shared pieces of the optimized ops (ops_fast.c) and the fused ops that the fusion passes
 * create in the "edgerun" domain. */
#ifndef ER_BACKEND_CPU_FAST_H
#define ER_BACKEND_CPU_FAST_H

#include "backend/cpu/gemm.h"
#include "backend/cpu/op.h"

#define ER_FUSED_DOMAIN "edgerun"

/* Work below these sizes runs on the calling thread: a fork/join costs microseconds (more
 * when the other core is busy), which small ops would not win back. */
#define ER_PAR_MIN_MACS ((int64_t)1 << 18)
#define ER_PAR_MIN_ELEMS ((int64_t)1 << 15)
static inline er_threadpool *er_pool_for(er_threadpool *pool, int64_t work, int64_t min_work)
{
    return work >= min_work ? pool : NULL;
}

/* Fused ops carry their activation as attributes: activation (string, see er_act_name),
 * alpha and beta (Clip bounds, LeakyRelu slope). */
er_status er_fused_act(er_kctx *ctx, er_act *act, float *alpha, float *beta);
/* ONNX op type of an activation ("Relu", "Clip", ...); NULL for ER_ACT_NONE. */
const char *er_act_name(er_act act);
er_act er_act_from_name(const char *name);

/* Applies residual (may be NULL) and activation in place to n floats: y = act(y + r). */
void er_act_residual_apply(er_act act, float alpha, float beta, float *y, const float *r, int64_t n);
/* y = act(c + z) with c and z broadcast (numpy rules) to y's shape; c may be y itself. */
void er_add_act_broadcast(er_act act, float alpha, float beta, const er_tensor *c, const er_tensor *z, er_tensor *y);

/* edgerun.FusedConv: act(Conv(X, W, B) + Z) with Z optional and broadcast by numpy rules (the
 * Add it replaces); usually Z has the conv's shape and the GEMM epilogue adds it. */
/* The conv's own output shape (conv) and the fused output's (y: conv broadcast with Z). */
er_status er_fused_conv_shapes(er_kctx *ctx, er_tensor **in, int n_in, er_tensor *conv, er_tensor *y);
/* Workspace bytes held at its start for the conv result when y is larger than it (else 0). */
size_t er_fused_conv_temp_bytes(const er_tensor *conv, const er_tensor *y);
er_status er_fused_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_conv_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* edgerun.FusedMatMul: act(MatMul(A, W) + bias + Z) with W 2-D, bias (optional) a vector of
 * N values and Z (optional) broadcast by numpy rules (fused_ref.c; packed version in
 * fused_matmul_fast.c). */
/* The MatMul's own result shape (mm) and the fused output's (y: mm broadcast with Z). */
er_status er_fused_matmul_shapes(er_kctx *ctx, er_tensor **in, int n_in, er_tensor *mm, er_tensor *y);
er_status er_fused_matmul_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_matmul_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_matmul_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_matmul_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                       void **state);
er_status er_fused_matmul_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* Fast Conv / FusedConv (conv_fast.c). */
er_status er_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_conv_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state);
void er_conv_fast_release(void *state);
er_status er_conv_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* im2col B-panel gatherers for er_sgemm, AVX-512 and portable builds (im2col_impl.h). */
void er_pack_im2col_avx512(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);
void er_pack_im2col_ref(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);
/* er_pack_b_dense for row-major B (er_dense_b.trans false) built with AVX-512; NR a multiple of 16. */
void er_pack_b_dense_avx512(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);

/* The dense B packer for a kernel: the AVX-512 one when the kernel is AVX-512. */
static inline er_pack_b_fn er_pack_dense_for(const er_sgemm_kernel *k)
{
    return k->isa == ER_ISA_AVX512 ? er_pack_b_dense_avx512 : er_pack_b_dense;
}

/* Depthwise 2-D convolution of one channel plane (depthwise*.c): y = x * k + bias. */
typedef struct er_dw_geom {
    int ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
} er_dw_geom;
typedef void (*er_dw_plane_fn)(const er_dw_geom *g, const float *x, const float *k, float bias,
                               float *y);
void er_dw_plane_ref(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
void er_dw_plane_avx2(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
void er_dw_plane_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
/* True when er_dw_plane_avx512 reads this geometry's padding in place (no padded copy needed). */
bool er_dw_plane_avx512_in_place(const er_dw_geom *g);
/* er_dw_plane_avx512 then min(max(y, lo), hi), for geometries er_dw_plane_avx512_in_place accepts. */
void er_dw_plane_avx512_clamp(const er_dw_geom *g, const float *x, const float *k, float bias, float lo, float hi,
                              float *y);
/* er_dw_plane_avx512_clamp over planes [p0, p1) of contiguous planes (plane p: channel
 * p % channels, weights w + channel·kh·kw, bias NULL or per channel). */
void er_dw_planes_avx512_clamp(const er_dw_geom *g, const float *x, const float *w, const float *bias, int channels,
                               int64_t p0, int64_t p1, float lo, float hi, float *y);
er_dw_plane_fn er_dw_plane_select(void);

/* Winograd for 3×3 stride-1 convs (winograd.c): F(4×4, 3×3) or F(2×2, 3×3). */
typedef struct er_wino {
    int c, m;
    const er_sgemm_kernel *k;
    size_t a_floats;          /* packed floats of one transformed-weight matrix U[xi]: M×C, or
                                 with AVX-512 one 8-channel panel's C×8 */
    float *packed;            /* U for every ξ (and panel) */
} er_wino;
bool er_wino_applicable(const er_dw_geom *g, int group, int c, int m);
size_t er_wino_ws_bytes(const er_dw_geom *g, int c, int m, int threads);
er_status er_wino_prepare(er_wino *w, const float *weights, int c, int m, const er_dw_geom *g);
void er_wino_free(er_wino *w);
void er_wino_run(er_threadpool *pool, const er_wino *w, const er_dw_geom *g, const float *x, float *y,
                 const er_gemm_epilogue *ep, float *ws);

/* Constant MatMul/Gemm weights packed once into the GEMM's B panels (matmul_fast.c); shared by
 * MatMul, Gemm and FusedMatMul. bias (N values) and ep are filled by the op that needs them. */
typedef struct er_mm_state {
    const er_sgemm_kernel *k;
    int K, N, n_panels;
    float *packed_b;      /* K-blocks of n_panels panels of NR columns */
    float *bias;          /* per-column bias, or NULL */
    er_gemm_epilogue ep;
} er_mm_state;
er_status er_mm_state_new(er_kctx *ctx, const float *w, int K, int N, bool trans, er_mm_state **out);
void er_mm_state_free(void *state);
/* er_sgemm_pack_a (not transposed) by the fastest packer for kernel k. */
void er_mm_pack_a(const er_sgemm_kernel *k, const float *A, int lda, int M, int K, float *packed);
/* The packer for the AVX-512 kernel's 12-row panels (register transposes, pack_a_avx512.c). */
void er_pack_a12_avx512(const float *A, int lda, int M, int K, float *packed);
/* C[M×N] (row stride N) = packed A (er_sgemm_pack_a with s->k) · the state's weights
 * (+ epilogue): er_sgemm reading the prepacked panels in place. */
void er_mm_state_gemm(er_threadpool *pool, const er_mm_state *s, int M, const float *packed_a, float *C,
                      const er_gemm_epilogue *ep);

/* MatMul and Gemm (matmul_fast.c). */
er_status er_matmul_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_matmul_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                 void **state);
er_status er_matmul_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gemm_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gemm_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state);
er_status er_gemm_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* Erf, Softmax, Pow (eltwise_fast.c) and their per-ISA kernels. */
void er_ew_erf_avx2(const float *x, float *y, int64_t n);
void er_ew_erf_avx512(const float *x, float *y, int64_t n);
void er_ew_softmax_avx2(const float *x, float *y, int64_t rows, int64_t cols);
void er_ew_softmax_avx512(const float *x, float *y, int64_t rows, int64_t cols);
er_status er_erf_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_erf_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_softmax_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_softmax_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_pow_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_pow_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* ConvTranspose with kernel == stride (convt_fast.c). */
er_status er_convt_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_convt_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state);
er_status er_convt_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
void er_convt_fast_release(void *state);

/* Add/Sub/Mul/Div, GlobalAveragePool, Sigmoid (binary_fast.c); infer is the reference's. */
er_status er_fast_ref_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_binary_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gap_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_sigmoid_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* Nearest-neighbour Resize by integer factors (resize_fast.c). */
er_status er_resize_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* MaxPool and AveragePool (pool_fast.c); planes share the depthwise geometry struct. */
typedef void (*er_maxpool_plane_fn)(const er_dw_geom *g, const float *x, float *y);
void er_maxpool_plane_avx512(const er_dw_geom *g, const float *x, float *y);
/* Average over windows inside the plane (pool_impl.h's avgpool_plane_impl). */
void er_avgpool_plane_avx512(const er_dw_geom *g, const float *x, float *y);
er_status er_maxpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_avgpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
