#!/bin/bash
# Side-by-side decode / prompt speed and peak memory of edgerun and llama.cpp (from the npm
# package node-llama-cpp) on the same GGUF files and thread counts. Not a test: it prints a
# table (and bench/llm_vs_llamacpp.json) for the record.
#
#   bench/llm_vs_llamacpp.sh BUILD_DIR [TYPES] [THREADS]
#     TYPES   default "f16 q8_0 q4_0"     THREADS default "1 2"
# Env: LLM_BENCH_DIR (model cache, default /tmp/edgerun-llm-bench), LLM_BENCH_SHAPE
# (tinyllama), LLM_BENCH_TOKENS (64), LLM_BENCH_REPS (2: each side runs this many times,
# alternating, and its best figures count, to damp other load on the machine),
# LLAMACPP_NODE_MODULES (node_modules holding node-llama-cpp; default: the repository's,
# then /tmp/llamacpp/node_modules). The file is read once before timing so neither side pays
# for the disk.
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR [TYPES] [THREADS]}
TYPES=${2:-"f16 q8_0 q4_0"}
THREADS=${3:-"1 2"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${LLM_BENCH_DIR:-/tmp/edgerun-llm-bench}
SHAPE=${LLM_BENCH_SHAPE:-tinyllama}
NGEN=${LLM_BENCH_TOKENS:-64}
REPS=${LLM_BENCH_REPS:-2}
CTX=512
PROMPT="Once upon a time, in a small village at the edge of the forest, there lived an old clockmaker who"
NM=${LLAMACPP_NODE_MODULES:-}
for cand in "$NM" "$ROOT/.cache/llamacpp/node_modules" "$ROOT/node_modules" /tmp/llamacpp/node_modules; do
  if [ -n "$cand" ] && [ -d "$cand/node-llama-cpp" ]; then NM=$cand; break; fi
done
if [ ! -d "$NM/node-llama-cpp" ]; then
  echo "node-llama-cpp not found: run bash tools/setup.sh test once (it installs it into .cache/llamacpp), or set LLAMACPP_NODE_MODULES" >&2
  exit 1
fi
mkdir -p "$DIR"
for t in $TYPES; do
  f="$DIR/${SHAPE}_$t.gguf"
  [ -f "$f" ] || { echo "writing $f" >&2; /usr/bin/python3 "$ROOT/tools/gguf_writer.py" random --shape "$SHAPE" --type "$t" --out "$f"; }
done
pick() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(' '.join(str(d[k]) for k in sys.argv[1:]))" "$@"; }
best() { /usr/bin/python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }
printf "%-6s %3s | %10s %10s %6s | %10s %10s %6s | %9s %9s\n" type thr "er pp t/s" "ll pp t/s" ratio "er tg t/s" "ll tg t/s" ratio "er RSS MB" "bound MB"
JSON="["
for t in $TYPES; do
  f="$DIR/${SHAPE}_$t.gguf"
  for th in $THREADS; do
    cat "$f" > /dev/null
    epps=() etgs=() lpps=() ltgs=()
    for _ in $(seq "$REPS"); do
      read -r a b rss fsz kv < <("$BUILD/edgerun" generate "$f" -p "$PROMPT" -n "$NGEN" --temp 0 --threads "$th" --ctx $CTX --json | pick prompt_tokens_per_s generation_tokens_per_s peak_rss_bytes file_bytes kv_cache_bytes)
      epps+=("$a") etgs+=("$b")
      read -r a b < <(node "$ROOT/tools/llamacpp_bench.mjs" "$NM" "$f" "$PROMPT" "$NGEN" "$th" $CTX 2>/dev/null | pick prompt_tokens_per_s generation_tokens_per_s)
      lpps+=("$a") ltgs+=("$b")
    done
    epp=$(best "${epps[@]}") etg=$(best "${etgs[@]}") lpp=$(best "${lpps[@]}") ltg=$(best "${ltgs[@]}")
    row=$(/usr/bin/python3 -c "
import sys; t,th,epp,etg,lpp,ltg,rss,fsz,kv=sys.argv[1:]; epp,etg,lpp,ltg,rss,fsz,kv=map(float,(epp,etg,lpp,ltg,rss,fsz,kv))
bound=(fsz+kv)*1.1
print('%-6s %3s | %10.2f %10.2f %5.2fx | %10.2f %10.2f %5.2fx | %9.0f %9.0f' % (t,th,epp,lpp,epp/lpp,etg,ltg,etg/ltg,rss/1e6,bound/1e6))
print('{\"type\":\"%s\",\"threads\":%s,\"edgerun_pp\":%.3f,\"llamacpp_pp\":%.3f,\"edgerun_tg\":%.3f,\"llamacpp_tg\":%.3f,\"edgerun_peak_rss\":%d,\"rss_bound\":%d}' % (t,th,epp,lpp,etg,ltg,rss,bound))
" "$t" "$th" "$epp" "$etg" "$lpp" "$ltg" "$rss" "$fsz" "$kv")
    echo "$row" | head -1
    JSON="$JSON$(echo "$row" | tail -1),"
  done
done
echo "${JSON%,}]" > "$ROOT/bench/llm_vs_llamacpp.json"
echo "shape $SHAPE, $NGEN generated tokens, ctx $CTX, best of $REPS alternating runs; pp = prompt processing, tg = decode (tokens fed back); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
