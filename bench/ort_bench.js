#!/usr/bin/env node
'use strict';
// Times one model on ONNX Runtime (npm onnxruntime-node, CPU EP) the way `edgerun bench`
// does: warm-up runs, then timed runs; prints one JSON line with p50/mean latency and the
// process's peak RSS, plus the RSS before onnxruntime was loaded (node's own share).
//
// With --profile it prints instead ORT's own per-node kernel times (median over the timed
// runs, from its profiler), to set beside `edgerun bench --profile-nodes`.
//
// Usage: node bench/ort_bench.js [--threads N] [--warmup W] [--runs R] [--profile] MODEL NAME=FILE.npy...

const path = require('path');
const { readNpy } = require('../tools/npy');

function parseArgs(argv) {
  const o = { threads: 1, warmup: 5, runs: 50, inputs: [], profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profile') {
      o.profile = true;
    } else if (a === '--threads' || a === '--warmup' || a === '--runs') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`bad ${a} value '${argv[i]}'`);
      o[a.slice(2)] = v;
    } else if (!o.model) {
      o.model = a;
    } else {
      o.inputs.push(a);
    }
  }
  if (!o.model) throw new Error('usage: node bench/ort_bench.js [--threads N] [--warmup W] [--runs R] MODEL NAME=FILE.npy...');
  return o;
}

// Median kernel time per node from ORT's profile file, printed in execution order.
function printProfile(prefix, runs) {
  const fs = require('fs');
  // onnxruntime-node's endProfiling() returns nothing: the file is PREFIX_<date>.json.
  const dir = path.dirname(prefix), base = path.basename(prefix);
  const found = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!found.length) throw new Error('ORT wrote no profile file');
  const file = path.join(dir, found[0]);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const key = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(key)) nodes.set(key, { op: e.args.op_name, us: [] });
    nodes.get(key).us.push(e.dur);
  }
  let total = 0;
  const byOp = new Map();
  console.log(`ORT per node (median of the last ${runs} runs, ms)`);
  for (const [name, n] of nodes) {
    const us = n.us.slice(-runs).sort((a, b) => a - b);
    const ms = us[Math.floor(us.length / 2)] / 1000;
    total += ms;
    byOp.set(n.op, (byOp.get(n.op) || 0) + ms);
    console.log(`  ${n.op.padEnd(22)} ${name.slice(0, 48).padEnd(48)} ${ms.toFixed(4).padStart(9)}`);
  }
  console.log('ORT per op type (ms per run)');
  for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1]))
    console.log(`  ${op.padEnd(22)} ${ms.toFixed(3).padStart(9)} ${(100 * ms / total).toFixed(1).padStart(6)}%`);
  console.log(`  total kernel time ${total.toFixed(3)} ms`);
}

function percentile(sorted, p) {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[k];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const baseRss = process.resourceUsage().maxRSS * 1024;
  const root = path.resolve(__dirname, '..');
  // ORT_NODE_PATH: another folder holding node_modules/onnxruntime-node.
  const paths = [root].concat(process.env.ORT_NODE_PATH ? [process.env.ORT_NODE_PATH] : []);
  const ort = require(require.resolve('onnxruntime-node', { paths }));
  const profilePrefix = path.join(require('os').tmpdir(), `ort_bench_${process.pid}`);
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableProfiling: o.profile,
    profileFilePrefix: profilePrefix,
  });
  const feeds = {};
  for (const spec of o.inputs) {
    const eq = spec.indexOf('=');
    const { type, dims, data } = readNpy(spec.slice(eq + 1));
    feeds[spec.slice(0, eq)] = new ort.Tensor(type, data, dims);
  }
  for (let i = 0; i < o.warmup; i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (o.profile) {
    session.endProfiling();
    printProfile(profilePrefix, o.runs);
    await session.release();
    return;
  }
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  console.log(JSON.stringify({
    model: o.model, threads: o.threads, runs: o.runs,
    p50_ms: percentile(ms, 50), mean_ms: mean, min_ms: ms[0],
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024, node_base_rss_bytes: baseRss,
  }));
  await session.release();
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
