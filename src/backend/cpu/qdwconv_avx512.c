/* AVX-512 depthwise int8 kernel: 16 outputs per block, one FMA per tap on the float plane
 * of er_qdw_plane_f32 (at stride 2 its column-parity halves make each tap's inputs
 * consecutive). The blocks of all rows are walked four at a time so four independent FMA
 * chains hide the FMA latency. Integer products and their sums stay below 2^24 (see
 * qdwconv.h), so the float sums are exact. */
#include <immintrin.h>

#include "backend/cpu/qdwconv.h"

typedef struct {
    const float *x;
    uint8_t *y;
    __mmask16 m;
} block;

/* The block at output row t, column o. */
static inline block block_at(const er_qdw_row *r, int64_t t, int64_t o)
{
    int64_t left = r->ow - o;
    block k = { .x = r->xf + t * r->sh * r->pw + o, .y = (uint8_t *)r->y + t * r->ow + o,
                .m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1) };
    return k;
}

/* Steps (t, o) to the next block; at the end it stays on the last one. */
static inline block next_block(const er_qdw_row *r, int64_t *t, int64_t *o)
{
    block k = block_at(r, *t, *o);
    *o += 16;
    if (*o >= r->ow) *o = 0, ++*t;
    if (*t == r->rows) *t = r->rows - 1, *o = (r->ow - 1) / 16 * 16;
    return k;
}

static inline void store_block(const er_qdw_row *r, block k, __m512 acc)
{
    const __m512 lo = _mm512_set1_ps(r->is_signed ? -128.0f : 0.0f), hi = _mm512_set1_ps(r->is_signed ? 127.0f : 255.0f);
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_cvtps_epi32(acc), _mm512_set1_epi32(r->bias))),
                             _mm512_set1_ps(r->mult));
    v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), _mm512_set1_ps(r->zp));
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    _mm_mask_storeu_epi8(k.y, k.m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
}

/* Inlined with taps = 9 too, so the 3 x 3 tap loop unrolls with its weights in registers. */
static inline __attribute__((always_inline)) void blocks(const er_qdw_row *r, const int taps, const float *wf,
                                                         const int64_t *off)
{
    const int64_t total = (r->ow + 15) / 16 * r->rows;
    int64_t t = 0, o = 0;
    for (int64_t b = 0; b < total; b += 4) {
        /* past the end the last block is computed again and not stored */
        block k0 = next_block(r, &t, &o), k1 = next_block(r, &t, &o);
        block k2 = next_block(r, &t, &o), k3 = next_block(r, &t, &o);
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < taps; i++) {
            __m512 w = _mm512_set1_ps(wf[i]);
            a0 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(k0.m, k0.x + off[i]), a0);
            a1 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(k1.m, k1.x + off[i]), a1);
            a2 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(k2.m, k2.x + off[i]), a2);
            a3 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(k3.m, k3.x + off[i]), a3);
        }
        store_block(r, k0, a0);
        if (b + 1 < total) store_block(r, k1, a1);
        if (b + 2 < total) store_block(r, k2, a2);
        if (b + 3 < total) store_block(r, k3, a3);
    }
}

void er_qdw_row_avx512(const er_qdw_row *r)
{
    if (r->stride > 2) {
        er_qdw_row_ref(r);
        return;
    }
    const int taps = r->kh * r->kw;
    float wf[ER_QDW_MAX_TAPS];
    int64_t off[ER_QDW_MAX_TAPS];
    const int64_t half = (r->pw + 1) / 2;
    for (int i = 0; i < r->kh; i++)
        for (int j = 0; j < r->kw; j++) {
            wf[i * r->kw + j] = (float)r->w[i * r->kw + j];
            off[i * r->kw + j] = i * r->pw + (r->stride == 1 ? j : (j & 1) * half + j / 2);
        }
    if (taps == 9) blocks(r, 9, wf, off);
    else blocks(r, taps, wf, off);
}

static inline __mmask16 first(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

void er_qdw_plane_f32_avx512(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst)
{
    if (stride != 2) {
        /* without the parity split the plane is one flat run */
        for (int64_t c = 0; c < ph * pw; c += 16) {
            __mmask16 m = first(ph * pw - c);
            __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, x + c));
            _mm512_mask_storeu_ps(dst + c, m, _mm512_cvtepi32_ps(v));
        }
        return;
    }
    const int64_t half = (pw + 1) / 2;
    for (int64_t i = 0; i < ph; i++) {
        const uint8_t *r = x + i * pw;
        float *d = dst + i * pw;
        /* byte pairs as 16-bit lanes: the low byte is the even column, the high one the odd */
        for (int64_t c = 0; c < half; c += 16) {
            __mmask16 me = first(half - c), mo = first(pw / 2 - c);
            __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(me, r + 2 * c));
            _mm512_mask_storeu_ps(d + c, me, _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(0xff))));
            _mm512_mask_storeu_ps(d + half + c, mo, _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 8)));
        }
    }
}

/* vpermb is AVX-512 VBMI, which the file's compile flags leave out: the VNNI kernel enables
 * it itself and runs only where er_qdw_vnni_usable says so. */
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi")))

static inline VBMI __attribute__((always_inline)) void vnni_blocks(const er_qdw_plan *p, const uint8_t *x,
                                                                   const int32_t *w, const int kh, const int kq,
                                                                   const er_qdw_req *q, uint8_t *y)
{
    __m512i wv[ER_QDW_VNNI_MAX_WORDS];
    for (int i = 0; i < kh * kq; i++) wv[i] = _mm512_set1_epi32(w[i]);
    const __m512i bias = _mm512_set1_epi32(q->bias), zp = _mm512_set1_epi32(q->zp);
    const __m512 mult = _mm512_set1_ps(q->mult);
    const __m512 lo = _mm512_set1_ps((q->is_signed ? -128.0f : 0.0f) - (float)q->zp);
    const __m512 hi = _mm512_set1_ps((q->is_signed ? 127.0f : 255.0f) - (float)q->zp);
    const int64_t pw = p->pw;
    /* byte 0 of each lane to the low 16 bytes: a register pack and a plain masked store
     * instead of vpmovdb to memory, which is slow on some cores */
    const __m512i pack = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3c383430, 0x2c282420, 0x1c181410, 0x0c080400);
    for (int64_t b = 0; b < p->n_blocks; b++) {
        const er_qdw_block k = p->blocks[b];
        const __m512i idx = _mm512_loadu_si512(p->tabs[k.tab]);
        const uint8_t *xb = x + k.off;
        __m512i acc = bias;
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kq; j++)
                acc = _mm512_dpbusd_epi32(acc, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(xb + i * pw + 4 * j)),
                                          wv[i * kq + j]);
        /* clamped before rounding: the bounds are integers, so this equals clamping after */
        __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), mult), lo), hi);
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
        _mm_mask_storeu_epi8(y, (__mmask16)((1u << k.n) - 1), _mm512_castsi512_si128(_mm512_permutexvar_epi8(pack, r)));
        y += k.n;
    }
}

VBMI void er_qdw_plane_avx512vnni(const er_qdw_plan *p, const uint8_t *x, const int32_t *w, const er_qdw_req *q,
                                  void *y)
{
    if (p->kh == 3 && p->kq == 1) vnni_blocks(p, x, w, 3, 1, q, y);
    else if (p->kh == 5 && p->kq == 2) vnni_blocks(p, x, w, 5, 2, q, y);
    else vnni_blocks(p, x, w, p->kh, p->kq, q, y);
}

/* Forward-only 64-byte stores, each row in order: the zero point over the left border, the
 * row's data in whole vectors (their tail spills into the right border), then the zero
 * point over the right border (its spill lands in the next row, rewritten next). No
 * library call per row, no masked load except at the end of the input. */
void er_qdw_pad_avx512(const uint8_t *x, int64_t ih, int64_t iw, int64_t pt, int64_t pl, int64_t ph, int64_t pw,
                       uint8_t zp, uint8_t flip, uint8_t *dst)
{
    const __m512i zv = _mm512_set1_epi8((char)zp), fv = _mm512_set1_epi8((char)flip);
    const uint8_t *end = x + ih * iw;
    for (int64_t i = 0; i < pt * pw; i += 64) _mm512_storeu_si512(dst + i, zv);
    for (int64_t h = 0; h < ih; h++) {
        uint8_t *d = dst + (pt + h) * pw;
        const uint8_t *r = x + h * iw;
        for (int64_t i = 0; i < pl; i += 64) _mm512_storeu_si512(d + i, zv);
        for (int64_t c = 0; c < iw; c += 64) {
            const __m512i v = end - (r + c) >= 64 ? _mm512_loadu_si512(r + c)
                                                  : _mm512_maskz_loadu_epi8(((__mmask64)1 << (end - (r + c))) - 1, r + c);
            _mm512_storeu_si512(d + pl + c, _mm512_xor_si512(v, fv));
        }
        for (int64_t i = pl + iw; i < pw; i += 64) _mm512_storeu_si512(d + i, zv);
    }
    for (int64_t i = (pt + ih) * pw; i < ph * pw; i += 64) _mm512_storeu_si512(dst + i, zv);
}
