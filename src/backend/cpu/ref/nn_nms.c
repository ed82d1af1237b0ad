/* NonMaxSuppression: greedy per-class selection by descending score (ties: lower box index
 * first), suppressing boxes whose IoU with a kept box exceeds the threshold. The output count
 * depends on the data, so infer runs the selection when every input is known. */
#include <stdlib.h>

#include "backend/cpu/ref/nn.h"

typedef struct {
    float score;
    int64_t idx;
} nms_cand;

typedef struct {
    const float *boxes, *scores;
    int64_t batches, classes, n;
    int64_t max_out;
    float iou, score_min;
    bool has_score_min, center;
} nms_in;

static int cand_cmp(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Corners (ymin, xmin, ymax, xmax) of box i. */
static void corners(const nms_in *a, const float *b, float *c)
{
    if (a->center) {
        c[0] = b[1] - b[3] / 2.0f;
        c[1] = b[0] - b[2] / 2.0f;
        c[2] = b[1] + b[3] / 2.0f;
        c[3] = b[0] + b[2] / 2.0f;
    } else {
        c[0] = ER_MIN(b[0], b[2]);
        c[1] = ER_MIN(b[1], b[3]);
        c[2] = ER_MAX(b[0], b[2]);
        c[3] = ER_MAX(b[1], b[3]);
    }
}

static bool suppresses(const nms_in *a, const float *b0, const float *b1)
{
    float p[4], q[4];
    corners(a, b0, p);
    corners(a, b1, q);
    float ih = ER_MIN(p[2], q[2]) - ER_MAX(p[0], q[0]);
    float iw = ER_MIN(p[3], q[3]) - ER_MAX(p[1], q[1]);
    if (ih <= 0.0f || iw <= 0.0f) return false;
    float inter = ih * iw;
    float ap = (p[2] - p[0]) * (p[3] - p[1]), aq = (q[2] - q[0]) * (q[3] - q[1]);
    float uni = ap + aq - inter;
    if (ap <= 0.0f || aq <= 0.0f || uni <= 0.0f) return false;
    return inter / uni > a->iou;
}

/* Runs the selection; writes the first `cap` rows (batch, class, box) to out. cand and kept
 * hold n entries each. Returns the number of selected boxes. */
static int64_t nms_select(const nms_in *a, nms_cand *cand, int64_t *kept, int64_t *out, int64_t cap)
{
    int64_t total = 0;
    for (int64_t b = 0; b < a->batches; b++) {
        const float *boxes = a->boxes + b * a->n * 4;
        for (int64_t c = 0; c < a->classes; c++) {
            const float *sc = a->scores + (b * a->classes + c) * a->n;
            int64_t nc = 0, nk = 0;
            for (int64_t i = 0; i < a->n; i++)
                if (sc[i] == sc[i] && (!a->has_score_min || sc[i] > a->score_min)) cand[nc++] = (nms_cand){ sc[i], i };
            qsort(cand, (size_t)nc, sizeof *cand, cand_cmp);
            for (int64_t i = 0; i < nc && nk < a->max_out; i++) {
                bool drop = false;
                for (int64_t j = 0; j < nk && !drop; j++)
                    drop = suppresses(a, boxes + kept[j] * 4, boxes + cand[i].idx * 4);
                if (drop) continue;
                kept[nk++] = cand[i].idx;
                if (total < cap) {
                    out[total * 3] = b;
                    out[total * 3 + 1] = c;
                    out[total * 3 + 2] = cand[i].idx;
                }
                total++;
            }
        }
    }
    return total;
}

static const er_tensor *opt(er_tensor **in, int n_in, int k) { return k < n_in ? in[k] : NULL; }

/* Validates the inputs and reads them into a; ER_DYNAMIC when some value is unknown. */
static er_status nms_read(er_kctx *ctx, er_tensor **in, int n_in, nms_in *a)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 5);
    if (st != ER_OK) return st;
    const er_tensor *boxes = in[0], *scores = in[1];
    if (!boxes || !scores) return er_op_fail(ctx, ER_ERR_FORMAT, "inputs boxes and scores are required");
    if (boxes->dtype != ER_F32 || scores->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "boxes and scores must be float32");
    if (boxes->ndim != 3 || boxes->dims[2] != 4 || scores->ndim != 3 || scores->dims[0] != boxes->dims[0] ||
        scores->dims[2] != boxes->dims[1]) {
        char sb[128], ss[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "boxes %s and scores %s must be [B,N,4] and [B,C,N]",
                          er_shape_str(boxes->dims, boxes->ndim, sb, sizeof sb),
                          er_shape_str(scores->dims, scores->ndim, ss, sizeof ss));
    }
    static const char *names[3] = { "max_output_boxes_per_class", "iou_threshold", "score_threshold" };
    static const er_dtype types[3] = { ER_I64, ER_F32, ER_F32 };
    bool unknown = !boxes->data || !scores->data;
    for (int k = 2; k < 5; k++) {
        const er_tensor *t = opt(in, n_in, k);
        if (!t) continue;
        if (t->dtype != types[k - 2] || er_tensor_numel(t) != 1)
            return er_op_fail(ctx, ER_ERR_FORMAT, "%s must be a single %s", names[k - 2], er_dtype_name(types[k - 2]));
        unknown |= !t->data;
    }
    *a = (nms_in){
        .boxes = boxes->data, .scores = scores->data,
        .batches = boxes->dims[0], .classes = scores->dims[1], .n = boxes->dims[1],
        .center = er_attr_int(ctx->node, "center_point_box", 0) != 0,
    };
    if (unknown) return ER_DYNAMIC;
    const er_tensor *mo = opt(in, n_in, 2), *iou = opt(in, n_in, 3), *smin = opt(in, n_in, 4);
    a->max_out = mo ? ER_MAX(*(const int64_t *)mo->data, 0) : 0;
    a->iou = iou ? *(const float *)iou->data : 0.0f;
    a->has_score_min = smin != NULL;
    a->score_min = smin ? *(const float *)smin->data : 0.0f;
    if (a->iou < 0.0f || a->iou > 1.0f)
        return er_op_fail(ctx, ER_ERR_FORMAT, "iou_threshold %g is outside [0, 1]", (double)a->iou);
    return ER_OK;
}

static size_t scratch_bytes(const nms_in *a) { return (size_t)a->n * (sizeof(nms_cand) + sizeof(int64_t)); }

er_status er_nn_nms_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    nms_in a;
    er_status st = nms_read(ctx, in, n_in, &a);
    if (st != ER_OK) return st;
    void *scratch = malloc(scratch_bytes(&a) + 1);
    if (!scratch) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory for %lld boxes", (long long)a.n);
    int64_t count = nms_select(&a, scratch, (int64_t *)((nms_cand *)scratch + a.n), NULL, 0);
    free(scratch);
    int64_t dims[2] = { count, 3 };
    er_tensor_set_shape(out[0], ER_I64, dims, 2);
    ctx->workspace_bytes = scratch_bytes(&a);
    return ER_OK;
}

er_status er_nn_nms_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    nms_in a;
    er_status st = nms_read(ctx, in, n_in, &a);
    if (st == ER_DYNAMIC) return er_op_fail(ctx, ER_ERR_INTERNAL, "inputs unknown at run time");
    if (st != ER_OK) return st;
    if (ctx->workspace_bytes < scratch_bytes(&a))
        return er_op_fail(ctx, ER_ERR_INTERNAL, "workspace of %zu bytes is too small", ctx->workspace_bytes);
    nms_cand *cand = ctx->workspace;
    int64_t count = nms_select(&a, cand, (int64_t *)(cand + a.n), out[0]->data, out[0]->dims[0]);
    if (count != out[0]->dims[0])
        return er_op_fail(ctx, ER_ERR_INTERNAL, "selected %lld boxes but the output was sized for %lld",
                          (long long)count, (long long)out[0]->dims[0]);
    return ER_OK;
}
