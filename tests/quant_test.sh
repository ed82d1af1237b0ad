#!/bin/sh
# INT8 quantization end to end on the digits CNN (tools/train_digits.py, real labelled data):
# top-1 on the held-out split for FP32, dynamic, static (each calibration method, per-channel
# and per-tensor) and the PyTorch QAT export, in edgerun and in ONNX Runtime; then the error
# paths (bad calibration data, nothing to quantize), which must leave no output file; and the
# BERT-style encoder (int64 token ids): FP32 vs INT8 agreement, static and dynamic.
# Usage: tests/quant_test.sh [BUILD_DIR]   (default build). Needs /usr/bin/python3 with numpy
# and node with onnxruntime-node in node_modules (ORT columns are skipped without it).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
E=$BUILD/edgerun
D=$ROOT/models/digits
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
HAVE_ORT=0
node -e "require(require.resolve('onnxruntime-node',{paths:['$ROOT']}))" 2>/dev/null && HAVE_ORT=1
fail=0

top1() { # LOGITS.npy → top-1 % on the held-out labels
    $PY -c "import numpy as np,sys; l=np.load(sys.argv[1]); y=np.load('$D/test_y.npy'); print('%.2f' % ((l.argmax(1)==y).mean()*100))" "$1"
}
eval_model() { # MODEL TAG → "edgerun_top1 ort_top1"
    "$E" run "$1" -i "$D/test_x.npy" -o "$T/$2.er" -t 1 >/dev/null
    a=$(top1 "$T/$2.er/logits.npy")
    b=-
    if [ $HAVE_ORT = 1 ]; then
        if node "$ROOT/tools/ort_run.js" "$1" "$T/$2.ort" "x=$D/test_x.npy" >/dev/null 2>"$T/ort.err"; then
            b=$(top1 "$T/$2.ort/logits.npy")
        else
            b=ort-error; echo "  ($2: ONNX Runtime refused the model: $(head -c 160 "$T/ort.err"))" >&2
        fi
    fi
    echo "$a $b"
}
check_drop() { # NAME ACC REF MAXDROP
    if $PY -c "import sys; sys.exit(0 if float('$3') - float('$2') <= $4 + 1e-9 else 1)"; then :; else
        echo "FAIL: $1 top-1 $2 is more than $4 points below $3"; fail=1
    fi
}

printf '%-34s %10s %10s %10s\n' model edgerun ort size_KiB
set -- $(eval_model "$D/digits_fp32.onnx" fp32); FP=$1
printf '%-34s %10s %10s %10s\n' fp32 "$1" "$2" $(( $(stat -c %s "$D/digits_fp32.onnx") / 1024 ))
"$E" quantize "$D/digits_fp32.onnx" "$T/dyn.onnx" --mode dynamic >/dev/null
set -- $(eval_model "$T/dyn.onnx" dyn)
printf '%-34s %10s %10s %10s\n' "int8 dynamic" "$1" "$2" $(( $(stat -c %s "$T/dyn.onnx") / 1024 ))
check_drop "dynamic" "$1" "$FP" 1.0
for gran in per-channel per-tensor; do
    for m in minmax percentile entropy; do
        "$E" quantize "$D/digits_fp32.onnx" "$T/st.onnx" --calib "$D/calib_x.npy" --method $m --$gran \
            --report "$T/r.json" >/dev/null
        set -- $(eval_model "$T/st.onnx" "st_${gran}_$m")
        printf '%-34s %10s %10s %10s\n' "int8 static $gran $m" "$1" "$2" $(( $(stat -c %s "$T/st.onnx") / 1024 ))
        if [ $gran = per-channel ]; then check_drop "static $gran $m" "$1" "$FP" 1.0; fi
        if [ "$2" != - ] && [ "$2" != ort-error ]; then check_drop "ORT on static $gran $m" "$2" "$1" 1.0; fi
    done
done
QAT_TORCH=$($PY -c "import json; print('%.2f' % json.load(open('$D/torch_accuracy.json'))['qat_fakequant_top1'])")
set -- $(eval_model "$D/digits_qat.onnx" qat)
printf '%-34s %10s %10s %10s\n' "pytorch QAT (torch: $QAT_TORCH)" "$1" "$2" $(( $(stat -c %s "$D/digits_qat.onnx") / 1024 ))
check_drop "QAT vs PyTorch" "$1" "$QAT_TORCH" 0.5
check_drop "PyTorch vs QAT in edgerun" "$QAT_TORCH" "$1" 0.5

# ---- BERT-style encoder (int64 token ids; tools/export_models.py `encoder`) ----
# Calibration feeds the token ids through unchanged; FP32 vs INT8 agreement of logits and
# hidden states on 4 held-out sequences, static and dynamic, in edgerun and ONNX Runtime.
MODELS=${EDGERUN_MODELS:-/tmp/speed_models}
ENC=$MODELS/encoder.op13.onnx
if [ -f "$ENC" ]; then
    $PY -c "
import numpy as np
r = np.random.default_rng(7)
np.save('$T/enc_calib.npy', r.integers(0, 1000, (16, 1, 64)).astype(np.int64))
for i in range(4): np.save('$T/enc_test%d.npy' % i, r.integers(0, 1000, (1, 64)).astype(np.int64))"
    "$E" quantize "$ENC" "$T/enc_static.onnx" --calib "$T/enc_calib.npy" >/dev/null
    "$E" quantize "$ENC" "$T/enc_dynamic.onnx" --mode dynamic >/dev/null
    for i in 0 1 2 3; do
        for m in "$ENC" "$T/enc_static.onnx" "$T/enc_dynamic.onnx"; do
            "$E" run "$m" -i "$T/enc_test$i.npy" -o "$T/enc_$(basename "$m" .onnx)_$i" -t 1 >/dev/null
            if [ $HAVE_ORT = 1 ] && [ "$m" != "$ENC" ]; then
                node "$ROOT/tools/ort_run.js" "$m" "$T/encort_$(basename "$m" .onnx)_$i" "input_ids=$T/enc_test$i.npy" >/dev/null 2>&1 ||
                    { echo "FAIL: ONNX Runtime could not run $m"; fail=1; }
            fi
        done
    done
    printf '%-34s %10s %10s %10s %10s\n' "encoder vs fp32 (4 sequences)" cos_logit maxd_logit cos_hidden maxd_hid
    for kind in static dynamic; do
        for who in enc encort; do
            [ $who = encort ] && [ $HAVE_ORT = 0 ] && continue
            line=$($PY - "$T" $kind $who <<'PY'
import sys, numpy as np
t, kind, who = sys.argv[1:]
res = []
for o in ("logits", "hidden"):
    cos, md = 1.0, 0.0
    for i in range(4):
        a = np.load("%s/enc_encoder.op13_%d/%s.npy" % (t, i, o)).astype(np.float64).ravel()
        b = np.load("%s/%s_enc_%s_%d/%s.npy" % (t, who, kind, i, o)).astype(np.float64).ravel()
        cos = min(cos, a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        md = max(md, np.abs(a - b).max())
    res += [cos, md]
print("%.5f %.4f %.5f %.4f" % tuple(res))
PY
)
            set -- $line
            printf '%-34s %10s %10s %10s %10s\n' "int8 $kind ($([ $who = enc ] && echo edgerun || echo ort))" "$1" "$2" "$3" "$4"
            # static rounds every activation around the quantized ops, dynamic only the MatMul inputs
            lim=$([ $kind = static ] && echo "0.995 0.1 0.998" || echo "0.999 0.03 0.9995")
            set -- "$@" $lim
            $PY -c "import sys; sys.exit(0 if $1 >= $5 and $2 <= $6 and $3 >= $7 else 1)" ||
                { echo "FAIL: encoder int8 $kind ($who) disagrees with fp32 (min cosines >= $5 / $7, logit diff <= $6)"; fail=1; }
        done
    done
else
    echo "encoder: skipped ($ENC not found; tools/export_models.py exports it)"
fi

# ---- bad input: clear message, exit 1, no file left behind ----
expect_error() { # MESSAGE_PART OUT ARGS...
    want=$1; out=$2; shift 2
    if "$E" quantize "$@" 2>"$T/err" >/dev/null; then echo "FAIL: quantize $* succeeded"; fail=1; return; fi
    grep -q "$want" "$T/err" || { echo "FAIL: quantize $*: message lacks '$want': $(cat "$T/err")"; fail=1; }
    if ls "$out"* >/dev/null 2>&1; then echo "FAIL: quantize $* left $(ls "$out"*)"; fail=1; fi
}
$PY -c "import numpy as np; np.save('$T/bad_shape.npy', np.zeros((2,1,9,9),np.float32)); np.save('$T/bad_dtype.npy', np.zeros((2,1,8,8),np.float64))"
mkdir "$T/empty"
expect_error "shape" "$T/o1.onnx" "$D/digits_fp32.onnx" "$T/o1.onnx" --calib "$T/bad_shape.npy"
expect_error "float64" "$T/o2.onnx" "$D/digits_fp32.onnx" "$T/o2.onnx" --calib "$T/bad_dtype.npy"
expect_error "empty" "$T/o3.onnx" "$D/digits_fp32.onnx" "$T/o3.onnx" --calib "$T/empty"
expect_error "no quantizable" "$T/o4.onnx" "$D/digits_fp32.onnx" "$T/o4.onnx" --mode dynamic --exclude Conv,Gemm
expect_error "needs --calib" "$T/o5.onnx" "$D/digits_fp32.onnx" "$T/o5.onnx"

[ $fail = 0 ] && echo "quant_test: ok" || echo "quant_test: FAILED"
exit $fail
