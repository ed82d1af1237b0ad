/* Internals of the Winograd conv (winograd.c): the AVX-512 kernels (winograd_avx512.c), and
 * the portable F(2×2, 3×3) transforms over one row of tiles for the SGEMM path, as plain
 * loops along the tile row so the compiler vectorizes them. With d an input patch, g a 3×3
 * kernel and m the product: V = Bᵀ d B, U = G g Gᵀ, Y = Aᵀ m A (Lavin & Gray's matrices). */
#ifndef ER_BACKEND_CPU_WINOGRAD_IMPL_H
#define ER_BACKEND_CPU_WINOGRAD_IMPL_H

#include <stddef.h>

#include "backend/cpu/fast.h"

/* AVX-512 kernels (winograd_avx512.c) for F(m×m, 3×3), m = 4 or 2, α = m + 2; ξ = α·row +
 * column of the α×α transformed tile. Each handles tiles [tx0, tx1) of tile row ty.
 * Input: channel plane x → v[ξ·vxi + tx − tx0]. Whole vectors are stored up to vlen floats
 * from v per ξ row, so the slots past the segment get finite values (overwritten by the next
 * segment, or products nobody reads) without a separate clear. rows is scratch of α rows of
 * rs floats (rs ≥ m·(tx1 − tx0) + 16·m + 18, a multiple of 16, zeroed past m·(tx1 − tx0) + 2). */
typedef void (*er_wino_input_fn)(const float *x, int ih, int iw, int ph, int pw, int ty, int tx0, int tx1,
                                 float *rows, size_t rs, float *v, int vlen, size_t vxi);
/* Output: mo[ξ·mxi + tx − tx0] → output rows m·ty .. m·ty + m − 1 of the oh × ow plane y. */
typedef void (*er_wino_output_fn)(const float *mo, size_t mxi, int ty, int tx0, int tx1, float *y, int oh, int ow);
void er_wino4_input_avx512(const float *x, int ih, int iw, int ph, int pw, int ty, int tx0, int tx1, float *rows,
                           size_t rs, float *v, int vlen, size_t vxi);
void er_wino4_output_avx512(const float *mo, size_t mxi, int ty, int tx0, int tx1, float *y, int oh, int ow);
void er_wino2_input_avx512(const float *x, int ih, int iw, int ph, int pw, int ty, int tx0, int tx1, float *rows,
                           size_t rs, float *v, int vlen, size_t vxi);
void er_wino2_output_avx512(const float *mo, size_t mxi, int ty, int tx0, int tx1, float *y, int oh, int ow);
/* U = G g Gᵀ of the [m][c][3][3] weights for tile 4 or 2, packed as [8-channel panel][ξ][c][8]
 * (zero rows past m). */
void er_wino_pack_avx512(const float *weights, int c, int m, int tile, float *packed);
/* mo[8 × 16·nvec] (row stride ldm) = u[K × 8]ᵀ · v[K × 16·nvec] (row stride ldv); v, mo, ldv
 * and ldm 64-byte aligned. */
void er_wino_gemm8_avx512(int K, const float *u, const float *v, size_t ldv, int nvec, float *mo, size_t ldm);

/* Portable F(2×2, 3×3). rows: 4 input rows (zero-padded, 2·n + 2 floats each);
 * v[xi * vstride + t] for t < n. */
static inline void wino_input_row_impl(const float *restrict r0, const float *restrict r1,
                                       const float *restrict r2, const float *restrict r3, int n,
                                       float *restrict v, size_t vstride)
{
    for (int t = 0; t < n; t++) {
        const int b = 2 * t;
        float d[4][4] = {
            { r0[b], r0[b + 1], r0[b + 2], r0[b + 3] },
            { r1[b], r1[b + 1], r1[b + 2], r1[b + 3] },
            { r2[b], r2[b + 1], r2[b + 2], r2[b + 3] },
            { r3[b], r3[b + 1], r3[b + 2], r3[b + 3] },
        };
        float s[4][4];
        for (int j = 0; j < 4; j++) {
            s[0][j] = d[0][j] - d[2][j];
            s[1][j] = d[1][j] + d[2][j];
            s[2][j] = d[2][j] - d[1][j];
            s[3][j] = d[1][j] - d[3][j];
        }
        for (int i = 0; i < 4; i++) {
            v[(size_t)(i * 4 + 0) * vstride + t] = s[i][0] - s[i][2];
            v[(size_t)(i * 4 + 1) * vstride + t] = s[i][1] + s[i][2];
            v[(size_t)(i * 4 + 2) * vstride + t] = s[i][2] - s[i][1];
            v[(size_t)(i * 4 + 3) * vstride + t] = s[i][1] - s[i][3];
        }
    }
}

/* m[xi * mstride + t] for t < n → two output rows y0, y1 of 2·n floats. */
static inline void wino_output_row_impl(const float *restrict m, size_t mstride, int n, float *restrict y0,
                                        float *restrict y1)
{
    for (int t = 0; t < n; t++) {
        float q[4][4];
        for (int xi = 0; xi < 16; xi++) q[xi / 4][xi % 4] = m[(size_t)xi * mstride + t];
        float s[2][4];
        for (int j = 0; j < 4; j++) {
            s[0][j] = q[0][j] + q[1][j] + q[2][j];
            s[1][j] = q[1][j] - q[2][j] - q[3][j];
        }
        y0[2 * t] = s[0][0] + s[0][1] + s[0][2];
        y0[2 * t + 1] = s[0][1] - s[0][2] - s[0][3];
        y1[2 * t] = s[1][0] + s[1][1] + s[1][2];
        y1[2 * t + 1] = s[1][1] - s[1][2] - s[1][3];
    }
}

#endif
