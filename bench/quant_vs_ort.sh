#!/bin/sh
# INT8 speed, side by side in one run, 1 thread: edgerun FP32, edgerun INT8 (static QDQ from
# `edgerun quantize`) and ONNX Runtime on the same QDQ file; plus file sizes.
# The three engines take turns for ROUNDS rounds (default 5) of RUNS runs each; every column
# is the lowest of its rounds' median latencies, so a burst of load on the shared machine
# hits one round of one engine instead of deciding a whole column.
# Usage: bench/quant_vs_ort.sh [BUILD_DIR] [MODEL.onnx ...]
# Default models: resnet18, mobilenet_v2, encoder from $EDGERUN_MODELS (tools/export_models.py).
# Calibration uses random normal inputs (random token ids for an int64 input): this measures
# speed, not accuracy.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}; [ $# -gt 0 ] && shift
E=$BUILD/edgerun
M=${EDGERUN_MODELS:-/tmp/speed_models}
[ $# -gt 0 ] || set -- "$M/resnet18.op13.onnx" "$M/mobilenet_v2.op13.onnx" "$M/encoder.op13.onnx"
RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

lowest() { /usr/bin/python3 -c "import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))" "$1" "$2"; }
p50() { "$E" bench "$1" --threads 1 --warmup 3 --runs "$RUNS" $2 | sed -n 's/^latency ms  min [0-9.]*  p50 \([0-9.]*\).*/\1/p'; }
ort_p50() { # MODEL INPUTS_DIR
    node -e '
const ort = require(require.resolve("onnxruntime-node", { paths: [process.argv[1]] }));
(async () => {
  const s = await ort.InferenceSession.create(process.argv[2], { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  for (const name of s.inputNames) {
    const meta = JSON.parse(process.argv[3])[name];
    const n = meta.dims.reduce((a, b) => a * b, 1);
    feeds[name] = meta.type === "int64" ? new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)), meta.dims)
                                        : new ort.Tensor("float32", Float32Array.from({ length: n }, (_, i) => Math.sin(i)), meta.dims);
  }
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t = [];
  for (let i = 0; i < Number(process.argv[4]); i++) { const a = process.hrtime.bigint(); await s.run(feeds); t.push(Number(process.hrtime.bigint() - a) / 1e6); }
  t.sort((a, b) => a - b);
  console.log(t[t.length >> 1].toFixed(3));
})().catch(e => { console.error(e.message); process.exit(1); });' "$ROOT" "$1" "$2" "$RUNS"
}

printf '%-16s %10s %10s %8s %10s %9s %9s %8s\n' model fp32_ms int8_ms speedup ort_int8 er/ort fp32_MiB ratio
for model in "$@"; do
    name=$(basename "$model" .onnx)
    spec=$(/usr/bin/python3 - "$model" "$T/$name.calib.npy" <<'PY'
import json, sys, numpy as np, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
init = {i.name: i for i in m.graph.initializer}
spec, r = {}, np.random.default_rng(0)
for i in m.graph.input:
    if i.name in init: continue
    t = i.type.tensor_type
    dims = [d.dim_value if d.dim_value > 0 else (1 if d.dim_param in ("", "N", "batch") else 16) for d in t.shape.dim]
    spec[i.name] = {"dims": dims, "type": "int64" if t.elem_type == 7 else "float32"}
    if len(spec) == 1 and t.elem_type == 1:
        np.save(sys.argv[2], r.standard_normal([4] + dims).astype(np.float32))
    elif len(spec) == 1 and t.elem_type == 7:
        # token ids: below the size of the embedding table they index
        sizes = [init[n.input[0]].dims[0] for n in m.graph.node if n.op_type == "Gather" and n.input[1] == i.name and n.input[0] in init]
        np.save(sys.argv[2], r.integers(0, sizes[0] if sizes else 10, [4] + dims).astype(np.int64))
print(json.dumps(spec))
PY
)
    if [ ! -f "$T/$name.calib.npy" ] || [ "$(echo "$spec" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" != 1 ]; then
        echo "$name: skipped (this script calibrates models with one float or int64 input)"; continue
    fi
    "$E" quantize "$model" "$T/$name.int8.onnx" --calib "$T/$name.calib.npy" >/dev/null
    f=inf; q=inf; o=inf
    for _ in $(seq "$ROUNDS"); do
        f=$(lowest "$f" "$(p50 "$model" "")")
        q=$(lowest "$q" "$(p50 "$T/$name.int8.onnx" "")")
        o=$(lowest "$o" "$(ort_p50 "$T/$name.int8.onnx" "$spec" || echo nan)")
    done
    sa=$(stat -c %s "$model"); sb=$(stat -c %s "$T/$name.int8.onnx")
    /usr/bin/python3 -c "
f,q,o,sa,sb=float('$f'),float('$q'),float('$o'),$sa,$sb
print('%-16s %10.2f %10.2f %7.2fx %10.2f %9.2f %9.1f %7.2fx' % ('$name', f, q, f/q, o, q/o, sa/2**20, sa/sb))"
done
