#!/usr/bin/env bash
# CLI tests: builds tiny ONNX models and .npy files with /usr/bin/python3 (onnx.helper,
# numpy) in a temp dir, then checks inspect/run/bench results against numpy and checks that
# every kind of bad input ends with exit 1 or 2 and an "edgerun: " message, never a crash
# (exit >= 128 or a sanitizer report).
#
# Usage: bash tests/cli_test.sh path/to/edgerun     (CLI_TIMEOUT: seconds per call, default 120)
# Prints one line per check and ends with "cli: N passed, M failed"; exits 1 when any failed.
set -u

EDGERUN=${1:?usage: cli_test.sh path/to/edgerun}
case $EDGERUN in /*) ;; *) EDGERUN=$PWD/$EDGERUN ;; esac
PY=/usr/bin/python3
T=$(mktemp -d /tmp/edgerun_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }

[ -x "$EDGERUN" ] || { fail "binary" "$EDGERUN is not executable"; echo "cli: $passed passed, $failed failed"; exit 1; }

# ---- fixtures -------------------------------------------------------------------------
$PY - <<'EOF' || { echo "cli: 0 passed, 1 failed (fixture generation)"; exit 1; }
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
rng = np.random.default_rng(7)

def save(graph, path, opset=13, check=True):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, path)
    return m

# x[batch,4] @ W[4,3] + B -> Relu; the output name needs sanitising.
W = (np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5).astype(np.float32)
B = np.array([0.5, -1.0, 2.0], dtype=np.float32)
save(helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["mm"]),
     helper.make_node("Add", ["mm", "B"], ["a"]),
     helper.make_node("Relu", ["a"], ["y/out:0"])],
    "tiny", [helper.make_tensor_value_info("x", F, ["batch", 4])],
    [helper.make_tensor_value_info("y/out:0", F, ["batch", 3])],
    [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")]), "tiny.onnx")
x = rng.uniform(-1, 1, (2, 4)).astype(np.float32)
np.save("x.npy", x)
np.save("tiny_ref.npy", np.maximum(x @ W + B, 0))

# Two inputs, two outputs: Add -> Relu and the Add itself.
save(helper.make_graph(
    [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Relu", ["sum"], ["relu out"])],
    "addrelu", [helper.make_tensor_value_info("a", F, [2, 3]), helper.make_tensor_value_info("b", F, [2, 3])],
    [helper.make_tensor_value_info("relu out", F, [2, 3]), helper.make_tensor_value_info("sum", F, [2, 3])]),
    "addrelu.onnx")
a = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
b = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
np.save("a.npy", a)
np.save("b.npy", b)
np.save("addrelu_sum.npy", a + b)
np.save("addrelu_relu.npy", np.maximum(a + b, 0))
np.save("a_f64.npy", a.astype(np.float64))
np.save("a_shape.npy", rng.uniform(-1, 1, (2, 4)).astype(np.float32))
np.save("a_fortran.npy", np.asfortranarray(rng.uniform(-1, 1, (2, 3)).astype(np.float32)))

# Conv(1x3x8x8, 4x3x3x3, pad 1) -> Reshape([1,-1] from a Constant node) -> Gemm(256x10):
# MACs = 4*8*8 * 3*3*3 + 10*256 = 6912 + 2560 = 9472.
cw = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32)
cb = rng.uniform(-1, 1, (4,)).astype(np.float32)
gw = rng.uniform(-1, 1, (256, 10)).astype(np.float32)
gc = rng.uniform(-1, 1, (10,)).astype(np.float32)
save(helper.make_graph(
    [helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([1, -1], dtype=np.int64))),
     helper.make_node("Conv", ["img", "cw", "cb"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
     helper.make_node("Reshape", ["c", "shape"], ["flat"]),
     helper.make_node("Gemm", ["flat", "gw", "gc"], ["logits"])],
    "convnet", [helper.make_tensor_value_info("img", F, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("logits", F, [1, 10])],
    [numpy_helper.from_array(cw, "cw"), numpy_helper.from_array(cb, "cb"),
     numpy_helper.from_array(gw, "gw"), numpy_helper.from_array(gc, "gc")]), "convnet.onnx")

# Names that need JSON escaping and file-name sanitising, with colliding file names.
odd = 'in"put\\ \t\n\u00fc'
save(helper.make_graph(
    [helper.make_node("Relu", [odd], ["y/1"]), helper.make_node("Relu", [odd], ["y_1"]),
     helper.make_node("Relu", [odd], [".."])],
    "names", [helper.make_tensor_value_info(odd, F, [2])],
    [helper.make_tensor_value_info(n, F, [2]) for n in ("y/1", "y_1", "..")]), "names.onnx")
np.save("two.npy", np.array([-1.5, 2.5], np.float32))

# Grouped Conv and ConvTranspose; with n=2: Conv 2*(256*27) + 2*(216*18) = 21600,
# ConvTranspose 2*216 input elements * (2*3*3) = 7776.
save(helper.make_graph(
    [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
     helper.make_node("Conv", ["c1", "w2"], ["c2"], group=2),
     helper.make_node("ConvTranspose", ["c2", "w3"], ["y"])],
    "convs", [helper.make_tensor_value_info("x", F, ["n", 3, 8, 8])], [helper.make_tensor_value_info("y", F, None)],
    [numpy_helper.from_array(rng.uniform(-1, 1, s).astype(np.float32), n)
     for n, s in (("w1", (4, 3, 3, 3)), ("w2", (6, 2, 3, 3)), ("w3", (6, 2, 3, 3)))]), "convs.onnx", check=False)

# Int64 input (embedding-style Gather) for bench's generated integer inputs.
emb = rng.uniform(-1, 1, (10, 4)).astype(np.float32)
save(helper.make_graph(
    [helper.make_node("Gather", ["emb", "ids"], ["vec"], axis=0)],
    "gather", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["seq"])],
    [helper.make_tensor_value_info("vec", F, ["seq", 4])],
    [numpy_helper.from_array(emb, "emb")]), "gather.onnx")

# Ops nobody implements: the error must list all of them at once.
save(helper.make_graph(
    [helper.make_node("FrobnicateX", ["x"], ["t1"]), helper.make_node("Relu", ["t1"], ["t2"]),
     helper.make_node("WibbleY", ["t2"], ["t3"]), helper.make_node("FrobnicateX", ["t3"], ["y"])],
    "unsupported", [helper.make_tensor_value_info("x", F, [1, 4])],
    [helper.make_tensor_value_info("y", F, [1, 4])]), "unsupported.onnx", check=False)

# Weights in an external file that is then removed.
os.makedirs("ext", exist_ok=True)
m = helper.make_model(helper.make_graph(
    [helper.make_node("Add", ["x", "w"], ["y"])], "ext",
    [helper.make_tensor_value_info("x", F, [1, 64])], [helper.make_tensor_value_info("y", F, [1, 64])],
    [numpy_helper.from_array(np.ones((1, 64), np.float32), "w")]),
    opset_imports=[helper.make_opsetid("", 13)])
onnx.save_model(m, "ext/model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                location="weights.bin", size_threshold=0)
os.remove("ext/weights.bin")

# Broken model files.
data = open("tiny.onnx", "rb").read()
open("truncated.onnx", "wb").write(data[: len(data) // 2])
open("empty.onnx", "wb").close()
open("random.onnx", "wb").write(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())

# Broken .npy files.
good = open("a.npy", "rb").read()
open("bad_magic.npy", "wb").write(b"\x93NUMPX" + good[6:])
open("trunc_data.npy", "wb").write(good[:-5])
EOF

# ---- helpers --------------------------------------------------------------------------

# run_cli OUT_PREFIX ARGS...: runs edgerun with stdout/stderr to OUT_PREFIX.out/.err; sets rc.
# A hang ends after CLI_TIMEOUT seconds with rc 124.
run_cli() {
    local p=$1
    shift
    timeout -k 5 "${CLI_TIMEOUT:-120}" "$EDGERUN" "$@" >"$p.out" 2>"$p.err"
    rc=$?
}

# crashed PREFIX: true when the run crashed, hung or a sanitizer complained.
crashed() {
    [ "$rc" -ge 128 ] || [ "$rc" -eq 124 ] || grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:\|UndefinedBehaviorSanitizer' "$1.err"
}

# expect_error NAME WANT_RC "needle1|needle2..." ARGS...: exit WANT_RC (1, 2 or "1or2"),
# stderr's first line starts with "edgerun: ", and every needle occurs in stderr.
expect_error() {
    local name=$1 want=$2 needles=$3 p
    shift 3
    p="$T/err_$passed$failed"
    run_cli "$p" "$@"
    if crashed "$p"; then fail "$name" "crashed (exit $rc): $(head -c 300 "$p.err")"; return; fi
    case $want in
        1or2) [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || { fail "$name" "exit $rc, expected 1 or 2"; return; } ;;
        *) [ "$rc" -eq "$want" ] || { fail "$name" "exit $rc, expected $want; stderr: $(head -c 300 "$p.err")"; return; } ;;
    esac
    head -n 1 "$p.err" | grep -q '^edgerun: ' || { fail "$name" "stderr does not start with 'edgerun: ': $(head -c 200 "$p.err")"; return; }
    local IFS='|' n
    for n in $needles; do
        [ -z "$n" ] && continue
        grep -qF -- "$n" "$p.err" || { fail "$name" "message lacks '$n': $(head -c 300 "$p.err")"; return; }
    done
    pass "$name"
}

# expect_ok NAME ARGS...: exit 0, no crash; output left in ok.out / ok.err.
expect_ok() {
    local name=$1
    shift
    run_cli "$T/ok" "$@"
    if crashed "$T/ok"; then fail "$name" "crashed (exit $rc): $(head -c 300 "$T/ok.err")"; return 1; fi
    [ "$rc" -eq 0 ] || { fail "$name" "exit $rc: $(head -c 300 "$T/ok.err")"; return 1; }
    return 0
}

# py_check NAME PYTHON_EXPR_SCRIPT: runs a python snippet; it raises/asserts on failure.
py_check() {
    local name=$1 out
    if out=$($PY -c "$2" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -n 1)"; fi
}

# ---- usage ----------------------------------------------------------------------------
expect_ok "--version" --version && { grep -q '^edgerun [0-9]' ok.out && pass "--version" || fail "--version" "$(cat ok.out)"; }
expect_ok "--help" --help && pass "--help"
for c in inspect run bench; do
    expect_ok "$c --help" "$c" --help && { grep -q "Usage: edgerun $c" ok.out && pass "$c --help" || fail "$c --help" "no usage text"; }
    expect_ok "$c -h" "$c" -h && pass "$c -h"
    expect_error "$c unknown flag" 2 "--no-such-flag" "$c" tiny.onnx --no-such-flag
    expect_error "$c without model" 2 "MODEL" "$c"
done
expect_error "no command" 2 "" 
expect_error "unknown command" 2 "frobnicate" frobnicate
expect_error "unknown top-level flag" 2 "--frob" --frob
expect_error "run without -o" 2 "-o" run tiny.onnx -i x.npy
expect_error "bench bad --runs" 2 "--runs" bench tiny.onnx --runs 0
expect_error "bench bad --threads" 2 "--threads" bench tiny.onnx --threads -3
expect_error "bad --opt" 2 "--opt" inspect tiny.onnx --opt fast
expect_error "bad --dim" 2 "--dim" inspect tiny.onnx --dim batch
expect_error "missing -i value" 2 "-i" run tiny.onnx -o out -i

# ---- inspect --------------------------------------------------------------------------
run_cli insp_text inspect tiny.onnx
if crashed insp_text; then fail "inspect text" "crashed"; else
    ok=1
    for n in "x" "[batch,4]" "y/out:0" "[batch,3]" "MatMul" "Add" "Relu" "15"; do
        grep -qF -- "$n" insp_text.out || { ok=0; fail "inspect text" "lacks '$n'"; break; }
    done
    [ $ok = 1 ] && pass "inspect text"
fi
[ "$rc" -eq 0 ] && pass "inspect tiny exit 0" || fail "inspect tiny exit 0" "exit $rc: $(cat insp_text.err)"

run_cli insp inspect tiny.onnx --json --dim batch=2
if crashed insp; then fail "inspect --json" "crashed"; else
    py_check "inspect --json histogram/params" "
import json
d = json.load(open('insp.out'))
assert d['op_histogram'] == {'MatMul': 1, 'Add': 1, 'Relu': 1}, d['op_histogram']
p = d['parameters']
assert p['count'] == 15 and p['bytes'] == 60 and p['tensors'] == 2, p
assert p['by_dtype'] == {'float32': {'count': 15, 'tensors': 2, 'bytes': 60}}, p['by_dtype']
assert d['inputs'] == [{'name': 'x', 'dtype': 'float32', 'shape': ['batch', 4], 'planned_shape': d['inputs'][0]['planned_shape']}], d['inputs']
assert d['outputs'][0]['name'] == 'y/out:0', d['outputs']
"
    py_check "inspect --json plan (MatMul MACs = 2*3*4)" "
import json
d = json.load(open('insp.out'))
assert d.get('plan') is not None, 'not planned: %s' % d.get('plan_error')
assert d['macs'] == 24 and d['macs_complete'], d['macs']
assert d['inputs'][0]['planned_shape'] == [2, 4] and d['outputs'][0]['planned_shape'] == [2, 3]
assert d['plan']['arena_bytes'] > 0
"
fi

run_cli insp_conv inspect convnet.onnx --json
if crashed insp_conv; then fail "inspect convnet" "crashed"; else
    py_check "inspect convnet params by dtype" "
import json
d = json.load(open('insp_conv.out'))
p = d['parameters']
assert p['count'] == 108 + 4 + 2 + 2560 + 10 and p['tensors'] == 5 and p['constant_node_tensors'] == 1, p
assert p['by_dtype']['float32'] == {'count': 2682, 'tensors': 4, 'bytes': 10728}, p
assert p['by_dtype']['int64'] == {'count': 2, 'tensors': 1, 'bytes': 16}, p
assert d['op_histogram'] == {'Constant': 1, 'Conv': 1, 'Reshape': 1, 'Gemm': 1}
"
    py_check "inspect convnet MACs (Conv 6912 + Gemm 2560)" "
import json
d = json.load(open('insp_conv.out'))
assert d.get('plan') is not None, 'not planned: %s' % d.get('plan_error')
assert d['macs'] == 9472, d['macs']
assert d['macs_by_op'] == {'Conv': 6912, 'Gemm': 2560}, d['macs_by_op']
"
fi
run_cli insp_convs inspect convs.onnx --json --dim n=2
py_check "inspect grouped Conv + ConvTranspose MACs" "
import json
d = json.load(open('insp_convs.out'))
assert d.get('plan') is not None, 'not planned: %s' % d.get('plan_error')
assert d['macs_by_op'] == {'Conv': 21600, 'ConvTranspose': 7776}, d['macs_by_op']
assert d['outputs'][0]['shape'] is None and d['outputs'][0]['planned_shape'] == [2, 2, 8, 8], d['outputs']
"
expect_error "inspect --dim unknown name" 2 "nosuchdim" inspect tiny.onnx --dim nosuchdim=3

run_cli insp_uns inspect unsupported.onnx --json
if crashed insp_uns; then fail "inspect unsupported" "crashed"; else
    py_check "inspect lists unsupported ops" "
import json
d = json.load(open('insp_uns.out'))
assert sorted(d['unsupported_ops']) == ['FrobnicateX', 'WibbleY'], d['unsupported_ops']
assert d['op_histogram'] == {'FrobnicateX': 2, 'Relu': 1, 'WibbleY': 1}
"
    [ "$rc" -eq 1 ] && grep -q '^edgerun: .*FrobnicateX' insp_uns.err && pass "inspect unsupported exit 1" ||
        fail "inspect unsupported exit 1" "exit $rc: $(cat insp_uns.err)"
fi

# ---- run ------------------------------------------------------------------------------
if expect_ok "run tiny" run tiny.onnx -i x=x.npy -o out/nested; then
    py_check "run tiny matches numpy (sanitised name y_out_0.npy)" "
import numpy as np
got = np.load('out/nested/y_out_0.npy'); ref = np.load('tiny_ref.npy')
assert got.dtype == np.float32 and got.shape == ref.shape, (got.dtype, got.shape)
assert np.allclose(got, ref, rtol=1e-5, atol=1e-6), abs(got - ref).max()
"
fi
if expect_ok "run tiny with -i FILE" run tiny.onnx -i x.npy -o out2 --threads 2; then
    cmp -s out/nested/y_out_0.npy out2/y_out_0.npy && pass "run -i FILE same result" || fail "run -i FILE same result" "outputs differ"
fi
if expect_ok "run addrelu" run addrelu.onnx -i a=a.npy -i b=b.npy -o out3 --opt none; then
    py_check "run addrelu outputs match numpy" "
import numpy as np, os
assert sorted(os.listdir('out3')) == ['relu_out.npy', 'sum.npy'], os.listdir('out3')
for f, r in (('relu_out', 'addrelu_relu'), ('sum', 'addrelu_sum')):
    got, ref = np.load('out3/%s.npy' % f), np.load('%s.npy' % r)
    assert got.shape == ref.shape and np.allclose(got, ref, rtol=1e-6, atol=1e-7), f
"
fi

if expect_ok "run odd names" run names.onnx -i two.npy -o out4; then
    py_check "odd names: sanitised, collisions kept apart" "
import numpy as np, os
assert sorted(os.listdir('out4')) == ['output_2.npy', 'y_1.npy', 'y_1_1.npy'], sorted(os.listdir('out4'))
for f in os.listdir('out4'): assert np.array_equal(np.load('out4/' + f), [0, 2.5]), f
"
fi
run_cli names inspect names.onnx --json
py_check "inspect --json escapes names" "
import json
d = json.load(open('names.out'))
assert d['inputs'][0]['name'] == 'in\"put\\\\ \\t\\n\u00fc', repr(d['inputs'][0]['name'])
assert [o['name'] for o in d['outputs']] == ['y/1', 'y_1', '..']
"

# ---- bench ----------------------------------------------------------------------------
run_cli bench bench addrelu.onnx --json --warmup 2 --runs 7 --profile --threads 1
if crashed bench || [ "$rc" -ne 0 ]; then fail "bench --json" "exit $rc: $(head -c 300 bench.err)"; else
    py_check "bench --json fields" "
import json
d = json.load(open('bench.out'))
l = d['latency_ms']
for k in ('min', 'p50', 'p90', 'p99', 'mean', 'stddev', 'max'): assert k in l, k
assert 0 < l['min'] <= l['p50'] <= l['p90'] <= l['p99'] <= l['max'], l
assert d['warmup'] == 2 and d['runs'] == 7 and d['threads'] == 1
assert d['load_ms'] > 0 and d['throughput_per_s'] > 0 and d['peak_rss_bytes'] > 0
assert [i['source'] for i in d['inputs']] == ['generated', 'generated']
ops = {p['op_type']: p for p in d['profile']}
assert set(ops) == {'Add', 'Relu'}, ops
assert all(p['calls'] == 7 for p in ops.values()), ops
assert abs(sum(p['percent'] for p in ops.values()) - 100) < 0.1
"
fi
if expect_ok "bench text" bench addrelu.onnx -i a=a.npy --runs 3 --warmup 0 --profile; then
    ok=1
    for n in "load" "p50" "p99" "throughput" "peak RSS" "warm-up" "Relu"; do
        grep -qF -- "$n" ok.out || { ok=0; fail "bench text" "lacks '$n'"; break; }
    done
    [ $ok = 1 ] && pass "bench text"
fi
expect_ok "bench int64 generated input" bench gather.onnx --dim seq=5 --runs 2 --json &&
    py_check "bench int64 json" "import json; d = json.load(open('ok.out')); assert d['runs'] == 2"

# ---- bad input ------------------------------------------------------------------------
for c in inspect bench; do
    expect_error "$c missing model" 1 "nope.onnx" "$c" nope.onnx
    expect_error "$c empty model" 1 "empty" "$c" empty.onnx
    expect_error "$c truncated model" 1 "truncated.onnx" "$c" truncated.onnx
    expect_error "$c random bytes" 1 "random.onnx" "$c" random.onnx
    expect_error "$c missing external data" 1 "weights.bin" "$c" ext/model.onnx
done
expect_error "run missing model" 1 "nope.onnx" run nope.onnx -i x.npy -o o
expect_error "run unsupported ops listed at once" 1 "FrobnicateX|WibbleY" run unsupported.onnx -i x.npy -o o
expect_error "bench unsupported ops listed at once" 1 "FrobnicateX|WibbleY" bench unsupported.onnx
expect_error "run wrong input name" 1 "nope|'a'" run addrelu.onnx -i nope=a.npy -i b=b.npy -o o
expect_error "run missing input" 1 "'b'" run addrelu.onnx -i a=a.npy -o o
expect_error "run bare FILE with 2 inputs" 2 "a.npy" run addrelu.onnx -i a.npy -o o
expect_error "run input given twice" 2 "'a'" run addrelu.onnx -i a=a.npy -i a=b.npy -o o
expect_error "run wrong shape" 1 "'a'|[2,4]" run addrelu.onnx -i a=a_shape.npy -i b=b.npy -o o
expect_error "run wrong dtype" 1 "'a'|float32|float64" run addrelu.onnx -i a=a_f64.npy -i b=b.npy -o o
expect_error "run npy bad magic" 1 "bad_magic.npy|magic" run addrelu.onnx -i a=bad_magic.npy -i b=b.npy -o o
expect_error "run npy truncated data" 1 "trunc_data.npy|truncated" run addrelu.onnx -i a=trunc_data.npy -i b=b.npy -o o
expect_error "run npy fortran order" 1 "a_fortran.npy|Fortran" run addrelu.onnx -i a=a_fortran.npy -i b=b.npy -o o
expect_error "run npy missing file" 1 "missing.npy" run addrelu.onnx -i a=missing.npy -i b=b.npy -o o
expect_error "run npy empty file" 1 "empty" run addrelu.onnx -i a=empty.onnx -i b=b.npy -o o
expect_error "bench wrong shape" 1 "'a'" bench addrelu.onnx -i a=a_shape.npy --runs 1
[ ! -e o ] && pass "failed runs create no output dir" || fail "failed runs create no output dir" "'o' exists"
: >file_not_dir
expect_error "run -o is a file" 1 "file_not_dir" run addrelu.onnx -i a=a.npy -i b=b.npy -o file_not_dir

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
