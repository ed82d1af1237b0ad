/* AVX-512 8-bit MaxPool plane, the portable kernel's separable order: the vertical maximum
 * of each output row's window rows over the full width, into a row buffer padded with the
 * type's minimum, then the horizontal window maximum by shifted loads, sampled at stride 1,
 * or at stride 2 by vpmovwb (the low byte of each 16-bit lane: the even columns). */
#include <immintrin.h>

#include "backend/cpu/qmaxpool.h"

static inline __mmask64 first(int64_t n) { return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1; }

static inline __m512i vmax(__m512i a, __m512i b, bool is_signed)
{
    return is_signed ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
}

void er_qmaxpool_plane_avx512(const uint8_t *x, const er_nn_window *w, bool is_signed, uint8_t *y)
{
    const int64_t ih = w->in[1], iw = w->in[2], ow = w->out[2], kw = w->k[2], p0 = w->pad0[2], sw = w->stride[2];
    const __m512i lowest = _mm512_set1_epi8(is_signed ? (char)0x80 : 0);
    uint8_t v[ER_QMAXPOOL_ROW_MAX + 128];
    for (size_t i = 0; i < sizeof v; i += 64) _mm512_storeu_si512(v + i, lowest);
    for (int64_t o = 0; o < w->out[1]; o++, y += ow) {
        const int64_t a = o * w->stride[1] - w->pad0[1], lo = a < 0 ? 0 : a, hi = a + w->k[1] < ih ? a + w->k[1] : ih;
        for (int64_t c = 0; c < iw; c += 64) {
            const __mmask64 m = first(iw - c);
            __m512i acc = _mm512_mask_loadu_epi8(lowest, m, x + lo * iw + c);
            for (int64_t r = lo + 1; r < hi; r++) acc = vmax(acc, _mm512_mask_loadu_epi8(lowest, m, x + r * iw + c), is_signed);
            _mm512_mask_storeu_epi8(v + p0 + c, m, acc);
        }
        for (int64_t c = 0; c < ow; c += 64 / sw) {
            const uint8_t *s = v + c * sw;
            __m512i h = _mm512_loadu_si512(s);
            for (int64_t j = 1; j < kw; j++) h = vmax(h, _mm512_loadu_si512(s + j), is_signed);
            if (sw == 1) _mm512_mask_storeu_epi8(y + c, first(ow - c), h);
            else _mm256_mask_storeu_epi8(y + c, (__mmask32)first(ow - c), _mm512_cvtepi16_epi8(h));
        }
    }
}
