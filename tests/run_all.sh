#!/usr/bin/env bash
# The whole test suite, step by step (normally started by `bash tools/setup.sh test`):
#   Release: build, ctest, ONNX node conformance, CLI tests, OCR end-to-end, model parity
#   with ONNX Runtime; ASan+UBSan (RelWithDebInfo): build, ctest, conformance, CLI, OCR (5 images).
# Each step prints a section with its time; a step whose test files do not exist yet is
# skipped with a message. The last line is exactly "all: N passed, M failed" (N/M count
# steps); the exit status is 1 when any step failed.
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan),
#   JOBS (default: all cores), SKIP_ASAN=1 (Release steps only).
set -u
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
NODE_TESTS=$BUILD_DIR/onnx-node-tests
EXPECT_FAIL=tests/conformance_failures.txt
SKIP=77

passed=0
failed=0
skipped=0
results=()

# step NAME COMMAND...: runs one step in its own section and records the outcome.
step() {
    local name=$1 t0 rc secs outcome
    shift
    printf '\n==== %s\n' "$name"
    t0=${EPOCHREALTIME/./}
    "$@"
    rc=$?
    secs=$(( (${EPOCHREALTIME/./} - t0) / 100000 ))
    secs="$((secs / 10)).$((secs % 10))"
    case $rc in
        0) outcome=PASS; passed=$((passed + 1)) ;;
        "$SKIP") outcome=SKIP; skipped=$((skipped + 1)) ;;
        *) outcome="FAIL (exit $rc)"; failed=$((failed + 1)) ;;
    esac
    printf -- '---- %s: %s in %ss\n' "$name" "$outcome" "$secs"
    results+=("$(printf '%-28s %-16s %7ss' "$name" "$outcome" "$secs")")
}

skip() {
    echo "skipped: $*"
    return $SKIP
}

build() {
    local dir=$1 out
    shift
    out=$(cmake -S . -B "$dir" "$@" 2>&1) || { echo "$out"; return 1; }
    cmake --build "$dir" -j "$JOBS" 2>&1 | grep -v '^\[ *[0-9]*%\]'
    return "${PIPESTATUS[0]}"
}

# A hung test fails after $2 seconds instead of stalling the suite.
run_ctest() {
    ctest --test-dir "$1" --output-on-failure -j "$JOBS" --no-tests=error --timeout "$2"
}

# ONNX's node test cases, regenerated only when the generator changed.
gen_node_tests() {
    local stamp=$NODE_TESTS/.generated
    if [ -f "$stamp" ] && [ "$stamp" -nt tools/gen_onnx_tests.py ]; then
        echo "node tests: up to date in $NODE_TESTS"
        return 0
    fi
    rm -rf "$NODE_TESTS"
    /usr/bin/python3 tools/gen_onnx_tests.py "$NODE_TESTS" >/dev/null || return 1
    touch "$stamp"
    echo "node tests: $(find "$NODE_TESTS/node" -mindepth 1 -maxdepth 1 -type d | wc -l) cases in $NODE_TESTS/node"
}

conformance() {
    local bin=$1/conformance
    [ -f tools/gen_onnx_tests.py ] || { skip "tools/gen_onnx_tests.py does not exist yet"; return; }
    [ -x "$bin" ] || { skip "$bin is not built (tests/tool_conformance.c does not exist yet)"; return; }
    [ -f "$EXPECT_FAIL" ] || { skip "$EXPECT_FAIL does not exist yet"; return; }
    gen_node_tests || return 1
    timeout "$2" "$bin" "$NODE_TESTS/node" --expect-fail "$EXPECT_FAIL"
}

cli_tests() {
    [ -f tests/cli_test.sh ] || { skip "tests/cli_test.sh does not exist yet"; return; }
    timeout "$2" bash tests/cli_test.sh "$1/edgerun"
}

# script_tests NAME BUILD_DIR LIMIT [ARGS...]: tests/NAME_test.sh BUILD_DIR ARGS under a time limit.
script_tests() {
    local name=$1 dir=$2 limit=$3
    shift 3
    [ -f "tests/${name}_test.sh" ] || { skip "tests/${name}_test.sh does not exist yet"; return; }
    timeout "$limit" bash "tests/${name}_test.sh" "$dir" "$@"
}

ocr_tests() {
    [ -f tests/ocr_test.sh ] || { skip "tests/ocr_test.sh does not exist yet"; return; }
    local dir=$1 limit=$2
    shift 2
    timeout "$limit" bash tests/ocr_test.sh "$dir" "$@"
}

with_sanitizer_options() {
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$@"
}

step "release: build" build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
release_ok=$((failed == 0))
if [ $release_ok -eq 1 ]; then
    step "release: ctest" run_ctest "$BUILD_DIR" 300
    step "release: conformance" conformance "$BUILD_DIR" 600
    step "release: cli" cli_tests "$BUILD_DIR" 300
    step "release: ocr end-to-end" ocr_tests "$BUILD_DIR" 600
    step "release: parity vs ORT" timeout 900 bash tests/parity.sh "$BUILD_DIR/edgerun"
    step "release: tasks" script_tests tasks "$BUILD_DIR" 600
    step "release: quantization" script_tests quant "$BUILD_DIR" 900
    step "release: llm" script_tests llm "$BUILD_DIR" 900
else
    results+=("release: tests                NOT RUN (build failed)")
fi

if [ "${SKIP_ASAN:-0}" != 1 ]; then
    before=$failed
    step "asan: build" build "$ASAN_BUILD_DIR" -DEDGERUN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    if [ "$failed" -eq "$before" ]; then
        step "asan: ctest" with_sanitizer_options run_ctest "$ASAN_BUILD_DIR" 600
        step "asan: conformance" with_sanitizer_options conformance "$ASAN_BUILD_DIR" 900
        step "asan: cli" with_sanitizer_options cli_tests "$ASAN_BUILD_DIR" 600
        step "asan: ocr end-to-end" with_sanitizer_options ocr_tests "$ASAN_BUILD_DIR" 600 --count 5
        step "asan: tasks" with_sanitizer_options script_tests tasks "$ASAN_BUILD_DIR" 900
    else
        results+=("asan: tests                   NOT RUN (build failed)")
    fi
fi

printf '\n==== summary\n'
for r in "${results[@]}"; do echo "  $r"; done
[ "$skipped" -gt 0 ] && echo "skipped: $skipped step(s) whose tests do not exist yet"
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
