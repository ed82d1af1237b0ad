/* Post-training INT8 quantization of an ONNX graph into the standard QDQ form:
 * float weights become int8 initializers behind DequantizeLinear, activations around the
 * quantized ops pass through QuantizeLinear → DequantizeLinear (static: scales from
 * calibration) or DynamicQuantizeLinear → DequantizeLinear (dynamic: scales at run time). */
#ifndef ER_QUANT_QUANTIZE_H
#define ER_QUANT_QUANTIZE_H

#include "ir/graph.h"

typedef enum { ER_QUANT_DYNAMIC, ER_QUANT_STATIC } er_quant_mode;
typedef enum { ER_CALIB_MINMAX, ER_CALIB_PERCENTILE, ER_CALIB_ENTROPY } er_calib_method;

typedef struct er_quant_options {
    er_quant_mode mode;
    er_calib_method method;
    bool per_channel;         /* one weight scale per output channel */
    bool symmetric;           /* activations int8 with zero point 0 (else uint8 asymmetric) */
    double percentile;        /* for ER_CALIB_PERCENTILE, e.g. 99.999 */
    const char *const *exclude;   /* node names or op types left in float */
    int n_exclude;
    void (*progress)(void *user, int done, int total);
    void *user;
} er_quant_options;

void er_quant_options_init(er_quant_options *o);

/* Calibrated range and chosen parameters of one activation tensor. */
typedef struct er_quant_range {
    const char *name;         /* owned by the source graph */
    float min, max;           /* observed */
    float lo, hi;             /* the range the method chose */
    float scale;
    int zero_point;
    bool not_float;           /* calibration found a non-float tensor: it stays unquantized */
} er_quant_range;

typedef struct er_quant_result {
    er_graph *graph;          /* the QDQ graph; shares constants with the source graph */
    int n_quantized;          /* source nodes now fed by quantized tensors */
    int n_float;              /* source nodes left in float */
    er_quant_range *ranges;   /* malloc'd, n_ranges entries */
    int n_ranges;
    int64_t opset_from;       /* the source's default-domain opset */
    int64_t opset_to;         /* the result's: raised when quantization needs a newer one */
    er_graph *prepared;       /* the source with constants and BatchNormalization folded and the
                                 opset raised, or NULL; the result shares it */
} er_quant_result;

/* samples: n_samples groups of n_inputs tensors each (one per graph input, in order);
 * required in static mode. The source graph must outlive the result. */
er_status er_quantize(const er_graph *src, const er_quant_options *o, const er_tensor *samples, int n_samples,
                      er_quant_result *res, char *err, size_t err_size);
void er_quant_result_free(er_quant_result *res);

/* ---- opset raise (opset_raise.c) ---- */

/* A copy of src at default-domain opset `to`, the ops whose form changed since src's opset
 * rewritten (Clip, Slice, Pad, Squeeze, Softmax, ...); fails naming the first op it cannot
 * carry over. The copy shares names and constants with src. */
er_status er_quant_raise_opset(const er_graph *src, int64_t to, er_graph **out, char *err, size_t err_size);

/* ---- calibration (calibrate.c) ---- */

/* Runs src on the samples and fills ranges[i].min/max/lo/hi for each named tensor; a tensor
 * that turns out not to be float32 (shape arithmetic, token ids) gets not_float instead. */
er_status er_calibrate(const er_graph *src, const er_quant_options *o, const er_tensor *samples, int n_samples,
                       er_quant_range *ranges, int n_ranges, char *err, size_t err_size);

#endif
