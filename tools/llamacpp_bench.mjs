// llama.cpp side of bench/llm_vs_llamacpp.sh, through node-llama-cpp: evaluates the same prompt
// tokens edgerun gets, generates N tokens greedily, prints one JSON line with prompt tokens/s,
// decode tokens/s (tokens fed back after the first, like edgerun's figure) and the token ids.
//   node tools/llamacpp_bench.mjs NODE_MODULES_DIR MODEL.gguf PROMPT N_GEN THREADS CTX
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, modelPath, prompt, nGenS, threadsS, ctxS] = process.argv.slice(2);
const nGen = Number(nGenS), threads = Number(threadsS), ctx = Number(ctxS);
const { getLlama } = await import(pathToFileURL(path.join(modulesDir, "node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: threads });
const model = await llama.loadModel({ modelPath, useMmap: true });
const context = await model.createContext({ contextSize: ctx, threads: { ideal: threads, min: threads }, batchSize: 512, flashAttention: false });
const seq = context.getSequence();
const tokens = model.tokenize(prompt, false);
if (model.tokens.bos != null && model.fileInfo.metadata?.tokenizer?.ggml?.add_bos_token !== false) tokens.unshift(model.tokens.bos);
const t0 = performance.now();
let tFirst = 0, tLast = 0;
const out = [];
for await (const tok of seq.evaluate(tokens, { temperature: 0 })) {
    const now = performance.now();
    if (out.length === 0) tFirst = now;
    tLast = now;
    out.push(tok);
    if (out.length >= nGen) break;
}
const promptS = (tFirst - t0) / 1000, decodeS = (tLast - tFirst) / 1000;
console.log(JSON.stringify({
    prompt_tokens: tokens.length, generated_tokens: out.length, prompt_ids: tokens,
    prompt_tokens_per_s: tokens.length / promptS, generation_tokens_per_s: (out.length - 1) / decodeS,
    tokens: out,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
