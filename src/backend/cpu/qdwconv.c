/* Portable depthwise int8 row kernel (the oracle of the AVX-512 one). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/qdwconv.h"
#include "core/cpu.h"

void er_qdw_row_ref(const er_qdw_row *r)
{
    const float lo = r->is_signed ? -128.0f : 0.0f, hi = r->is_signed ? 127.0f : 255.0f;
    for (int64_t t = 0; t < r->rows; t++) {
        const uint8_t *x = r->x + t * r->sh * r->pw;
        for (int64_t o = 0; o < r->ow; o++) {
            int32_t acc = 0;
            for (int i = 0; i < r->kh; i++)
                for (int j = 0; j < r->kw; j++) acc += r->w[i * r->kw + j] * x[i * r->pw + o * r->stride + j];
            float v = nearbyintf((float)(acc + r->bias) * r->mult) + r->zp;
            v = v < lo ? lo : v > hi ? hi : v;
            if (r->is_signed) ((int8_t *)r->y)[t * r->ow + o] = (int8_t)v;
            else ((uint8_t *)r->y)[t * r->ow + o] = (uint8_t)v;
        }
    }
}

void er_qdw_plane_f32(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst)
{
    const int64_t half = (pw + 1) / 2;
    for (int64_t i = 0; i < ph; i++) {
        const uint8_t *r = x + i * pw;
        float *d = dst + i * pw;
        if (stride != 2) {
            for (int64_t c = 0; c < pw; c++) d[c] = (float)r[c];
            continue;
        }
        for (int64_t c = 0; c < half; c++) d[c] = (float)r[2 * c];
        for (int64_t c = 0; c < pw / 2; c++) d[half + c] = (float)r[2 * c + 1];
    }
}

/* Input offset of output i's first tap in the row-major walk of the output plane. */
static int64_t out_off(int64_t i, int64_t ow, int sh, int sw, int64_t pw) { return i / ow * sh * pw + i % ow * sw; }

/* The index table of one block: lane l, tap j reads byte rel[l] + j of the 64-byte span. */
static void block_table(int64_t s, int n, int64_t ow, int sh, int sw, int64_t pw, uint8_t tab[64])
{
    memset(tab, 0, 64);
    for (int l = 0; l < n; l++)
        for (int j = 0; j < 4; j++)
            tab[l * 4 + j] = (uint8_t)(out_off(s + l, ow, sh, sw, pw) - out_off(s, ow, sh, sw, pw) + j);
}

static int find_or_add_table(er_qdw_plan *p, const uint8_t tab[64], int *cap)
{
    for (int t = 0; t < p->n_tabs; t++)
        if (memcmp(p->tabs[t], tab, 64) == 0) return t;
    if (p->n_tabs == 65535) return -1;
    if (p->n_tabs == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        uint8_t(*nt)[64] = realloc(p->tabs, (size_t)nc * 64);
        if (!nt) return -1;
        p->tabs = nt;
        *cap = nc;
    }
    memcpy(p->tabs[p->n_tabs], tab, 64);
    return p->n_tabs++;
}

bool er_qdw_plan_init(er_qdw_plan *p, int64_t oh, int64_t ow, int sh, int sw, int kh, int kw, int64_t pw)
{
    memset(p, 0, sizeof *p);
    const int kq = (kw + 3) / 4;
    const int64_t total = oh * ow;
    if (kw > 8 || kh * kq > ER_QDW_VNNI_MAX_WORDS || total <= 0 || out_off(total - 1, ow, sh, sw, pw) > INT32_MAX)
        return false;
    p->pw = pw;
    p->kh = kh;
    p->kq = kq;
    p->blocks = malloc(sizeof(er_qdw_block) * (size_t)total);
    if (!p->blocks) return false;
    int cap = 0;
    for (int64_t s = 0; s < total;) {
        /* a lane joins while its 4 taps stay inside the block's 64-byte span */
        int n = 1;
        while (n < 16 && s + n < total && out_off(s + n, ow, sh, sw, pw) - out_off(s, ow, sh, sw, pw) + 3 < 64) n++;
        uint8_t tab[64];
        block_table(s, n, ow, sh, sw, pw, tab);
        int t = find_or_add_table(p, tab, &cap);
        if (t < 0) {
            er_qdw_plan_free(p);
            return false;
        }
        p->blocks[p->n_blocks++] = (er_qdw_block){ .off = (int32_t)out_off(s, ow, sh, sw, pw), .tab = (uint16_t)t, .n = (uint8_t)n };
        s += n;
    }
    return true;
}

void er_qdw_plan_free(er_qdw_plan *p)
{
    free(p->blocks);
    free(p->tabs);
    memset(p, 0, sizeof *p);
}

void er_qdw_pack_w(const int8_t *w, int kh, int kw, int32_t *dst)
{
    const int kq = (kw + 3) / 4;
    memset(dst, 0, sizeof(int32_t) * (size_t)(kh * kq));
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) ((uint8_t *)(dst + i * kq + j / 4))[j % 4] = (uint8_t)w[i * kw + j];
}

bool er_qdw_vnni_usable(void)
{
    return er_cpu_vnni() && __builtin_cpu_supports("avx512vbmi");
}

void er_qdw_pad(const uint8_t *x, int64_t ih, int64_t iw, int64_t pt, int64_t pl, int64_t ph, int64_t pw, uint8_t zp,
                uint8_t flip, uint8_t *dst)
{
    memset(dst, zp, (size_t)(ph * pw));
    for (int64_t h = 0; h < ih; h++) {
        uint8_t *d = dst + (pt + h) * pw + pl;
        const uint8_t *r = x + h * iw;
        for (int64_t i = 0; i < iw; i++) d[i] = (uint8_t)(r[i] ^ flip);
    }
}

er_qdw_pad_fn er_qdw_pad_select(void) { return er_cpu_isa() == ER_ISA_AVX512 ? er_qdw_pad_avx512 : er_qdw_pad; }

er_qdw_row_fn er_qdw_row_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qdw_row_avx512 : er_qdw_row_ref;
}

er_qdw_plane_fn er_qdw_plane_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qdw_plane_f32_avx512 : er_qdw_plane_f32;
}
