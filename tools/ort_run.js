#!/usr/bin/env node
'use strict';
// Runs an ONNX model on ONNX Runtime (npm onnxruntime-node, CPU) and writes every output as
// OUTDIR/<name>.npy, the reference side of the parity tests.
//
// Usage: node tools/ort_run.js [--threads N] MODEL OUTDIR INPUT...
//   INPUT is NAME=FILE.npy, or FILE.npy given in the order of the model's inputs.
//   Output names are made file-safe: every character outside [A-Za-z0-9._-] becomes '_'.

const path = require('path');
const fs = require('fs');
const { readNpy, writeNpy } = require('./npy');

const USAGE = 'usage: node tools/ort_run.js [--threads N] MODEL OUTDIR INPUT...\n' +
  '  INPUT: NAME=FILE.npy or FILE.npy (in model input order)';

function loadOrt() {
  const root = path.resolve(__dirname, '..');
  try {
    return require(require.resolve('onnxruntime-node', { paths: [root] }));
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node from ${root}/node_modules ` +
      `(run: bash tools/setup.sh test): ${e.message}`);
  }
}

function parseArgs(argv) {
  const opts = { threads: 1, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') {
      opts.threads = Number(argv[++i]);
      if (!Number.isInteger(opts.threads) || opts.threads < 0) throw new Error(`bad --threads value '${argv[i]}'`);
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else {
      opts.positional.push(a);
    }
  }
  if (opts.positional.length < 2) throw new Error(USAGE);
  [opts.model, opts.outdir, ...opts.inputs] = opts.positional;
  return opts;
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

function bindInputs(ort, session, specs) {
  const feeds = {};
  specs.forEach((spec, k) => {
    const eq = spec.indexOf('=');
    let name;
    let file;
    if (eq > 0) {
      name = spec.slice(0, eq);
      file = spec.slice(eq + 1);
    } else {
      if (k >= session.inputNames.length) throw new Error(`input #${k} given but the model has ${session.inputNames.length}`);
      name = session.inputNames[k];
      file = spec;
    }
    if (!session.inputNames.includes(name)) {
      throw new Error(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    const { type, dims, data } = readNpy(file);
    feeds[name] = new ort.Tensor(type, data, dims);
  });
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`missing inputs: ${missing.join(', ')}`);
  return feeds;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
  });
  const feeds = bindInputs(ort, session, opts.inputs);
  const t0 = process.hrtime.bigint();
  const results = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.mkdirSync(opts.outdir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    const file = path.join(opts.outdir, `${safeName(name)}.npy`);
    writeNpy(file, t.type, t.dims, t.data);
    console.log(`${name}: ${t.type} [${t.dims.join('x')}] -> ${file}`);
  }
  console.log(`ort: ${ms.toFixed(2)} ms (${opts.threads} thread${opts.threads === 1 ? '' : 's'})`);
  await session.release();
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
