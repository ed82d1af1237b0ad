/* 64 int32 lanes already clamped to the 8-bit range → 64 bytes in lane order, through two
 * saturating packs (exact on clamped values) and a dword permute that undoes their 128-bit
 * lane interleave. Replaces four narrowing stores (vpmov*db to memory), which are slow on
 * some cores, with one 64-byte store. For the *_avx512.c files only. */
#ifndef ER_BACKEND_CPU_QPACK_AVX512_H
#define ER_BACKEND_CPU_QPACK_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

static inline __m512i er_q8_pack64(__m512i q0, __m512i q1, __m512i q2, __m512i q3, bool is_signed)
{
    __m512i w01 = _mm512_packs_epi32(q0, q1), w23 = _mm512_packs_epi32(q2, q3);
    __m512i b = is_signed ? _mm512_packs_epi16(w01, w23) : _mm512_packus_epi16(w01, w23);
    return _mm512_permutexvar_epi32(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), b);
}

#endif
