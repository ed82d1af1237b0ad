// Tokenizes texts (records separated by 0x1e) with llama.cpp through node-llama-cpp, one line
// of comma-separated ids per text, like tests/tool_llm_tokenize.c.
//   node tools/llamacpp_tokenize.mjs NODE_MODULES_DIR MODEL.gguf TEXTS [--special] [--bos]
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, model, textsPath, ...flags] = process.argv.slice(2);
const { getLlama } = await import(pathToFileURL(path.join(modulesDir, "node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const m = await llama.loadModel({ modelPath: model, vocabOnly: true });
const special = flags.includes("--special");
const bos = flags.includes("--bos");
const texts = fs.readFileSync(textsPath, "utf8").split("\x1e");
const out = [];
for (const t of texts) {
    let ids = m.tokenize(t, special);
    if (bos && m.tokens.bos != null) ids = [m.tokens.bos, ...ids];
    out.push(ids.join(","));
}
process.stdout.write(out.join("\n") + "\n");
await m.dispose();
await llama.dispose();
