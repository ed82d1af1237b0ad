/* Winograd F(2×2, 3×3) transforms over one row of tiles, as plain loops along the tile row so
 * the compiler vectorizes them for the ISA of the including file (winograd.c,
 * winograd_avx512.c). With d a 4×4 input patch, g a 3×3 kernel and m the 4×4 product:
 *   V = Bᵀ d B,  U = G g Gᵀ,  Y = Aᵀ m A  (Lavin & Gray's F(2,3) matrices). */
#ifndef ER_BACKEND_CPU_WINOGRAD_IMPL_H
#define ER_BACKEND_CPU_WINOGRAD_IMPL_H

#include <stddef.h>

/* rows: 4 input rows (zero-padded, 2·n + 2 floats each); v[xi * vstride + t] for t < n. */
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
