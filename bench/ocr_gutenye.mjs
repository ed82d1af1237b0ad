// Reads images with @gutenye/ocr-node (PP-OCRv4 on ONNX Runtime) and times each OCR call,
// for bench/ocr_vs_gutenye.sh.
//
//   node bench/ocr_gutenye.mjs --models DIR [--threads N] [--repeat R] IMAGE...
//
// Prints one JSON object per image: {"image", "lines": [{"text", "mean"}], "runs_ms": [...]}.
// Timing covers ocr.detect() only: the models are loaded and run once on the first image
// before any timed call, and PNG decoding is done up front (see cacheDecodedImages), so
// the numbers are comparable with edgerun's er_ocr_run, which gets an already decoded image.
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import Ocr from '@gutenye/ocr-node'
import sharp from 'sharp'

function parseArgs(argv) {
  const a = { models: null, threads: 1, repeat: 1, images: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--models') a.models = argv[++i]
    else if (arg === '--threads') a.threads = Number(argv[++i])
    else if (arg === '--repeat') a.repeat = Number(argv[++i])
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`)
    else a.images.push(arg)
  }
  if (!a.models) throw new Error('--models DIR is required')
  if (!Number.isInteger(a.threads) || a.threads < 0) throw new Error('--threads expects N >= 0')
  if (!Number.isInteger(a.repeat) || a.repeat < 1) throw new Error('--repeat expects N >= 1')
  if (a.images.length === 0) throw new Error('no images given')
  return a
}

// ocr-node decodes the file inside detect() (ImageRaw.open). Its ImageRaw class is not
// exported, so it is reached through the package's own file, which is the same module
// instance ocr-node registered as its backend; open() then hands out a fresh copy of a
// pixel buffer decoded here (detect() resizes the image it gets in place).
async function cacheDecodedImages(images) {
  const entry = import.meta.resolve('@gutenye/ocr-node')
  const { ImageRaw } = await import(new URL('ImageRaw.js', entry).href)
  const decode = ImageRaw.open.bind(ImageRaw)
  const decoded = new Map()
  for (const image of images) {
    const raw = await decode(image)
    decoded.set(path.resolve(image), { data: raw.data, width: raw.width, height: raw.height })
  }
  ImageRaw.open = async (file) => {
    const raw = decoded.get(path.resolve(file))
    if (!raw) return decode(file)
    return new ImageRaw({ data: Buffer.from(raw.data), width: raw.width, height: raw.height })
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2))
  // libvips (resizes inside the pipeline) gets the same thread budget as ONNX Runtime.
  if (a.threads > 0) sharp.concurrency(a.threads)
  const onnxOptions = { executionMode: 'sequential' }
  if (a.threads > 0) {
    onnxOptions.intraOpNumThreads = a.threads
    onnxOptions.interOpNumThreads = 1
  }
  const ocr = await Ocr.create({
    models: {
      detectionPath: path.join(a.models, 'ch_PP-OCRv4_det_infer.onnx'),
      recognitionPath: path.join(a.models, 'ch_PP-OCRv4_rec_infer.onnx'),
      dictionaryPath: path.join(a.models, 'ppocr_keys_v1.txt'),
    },
    onnxOptions,
  })
  await cacheDecodedImages(a.images)
  await ocr.detect(a.images[0])
  for (const image of a.images) {
    const runs = []
    let lines = []
    for (let r = 0; r < a.repeat; r++) {
      const t0 = performance.now()
      lines = await ocr.detect(image)
      runs.push(Number((performance.now() - t0).toFixed(2)))
    }
    const out = lines.map((l) => ({ text: l.text, mean: Number(l.mean.toFixed(4)) }))
    process.stdout.write(`${JSON.stringify({ image, lines: out, runs_ms: runs })}\n`)
  }
}

main().catch((err) => {
  process.stderr.write(`ocr_gutenye: ${err.message}\n`)
  process.exitCode = 1
})
