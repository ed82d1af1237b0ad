#!/usr/bin/env node
'use strict';
// Times one model on ONNX Runtime (npm onnxruntime-node, CPU EP) the way `edgerun bench`
// does: warm-up runs, then timed runs; prints one JSON line with p50/mean latency and the
// process's peak RSS, plus the RSS before onnxruntime was loaded (node's own share).
//
// Usage: node bench/ort_bench.js [--threads N] [--warmup W] [--runs R] MODEL NAME=FILE.npy...

const path = require('path');
const { readNpy } = require('../tools/npy');

function parseArgs(argv) {
  const o = { threads: 1, warmup: 5, runs: 50, inputs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads' || a === '--warmup' || a === '--runs') {
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
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
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
