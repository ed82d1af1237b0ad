'use strict';
// NumPy .npy reader/writer (format versions 1.0-3.0 read, 1.0 written), little-endian,
// C order only: the test scripts exchange tensors with numpy through these files.

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

// descr (byte order stripped) -> [ONNX Runtime type name, typed array constructor]
const TYPES = {
  f4: ['float32', Float32Array],
  f8: ['float64', Float64Array],
  f2: ['float16', Uint16Array],
  i1: ['int8', Int8Array],
  u1: ['uint8', Uint8Array],
  i2: ['int16', Int16Array],
  u2: ['uint16', Uint16Array],
  i4: ['int32', Int32Array],
  u4: ['uint32', Uint32Array],
  i8: ['int64', BigInt64Array],
  u8: ['uint64', BigUint64Array],
  b1: ['bool', Uint8Array],
};

function descrFor(type) {
  for (const [code, [name]] of Object.entries(TYPES)) {
    if (name === type) return (code[1] === '1' ? '|' : '<') + code;
  }
  throw new Error(`npy: cannot write element type ${type}`);
}

function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed npy header: ${text.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${file}: bad shape (${shape[1]})`);
  return { descr: descr[1], dims };
}

// Returns { type, dims, data } where data is a typed array holding a copy of the elements.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${file}: unsupported npy version ${major}`);
  }
  const { descr, dims } = parseHeader(buf.toString('latin1', offset, offset + headerLen), file);
  const order = descr[0];
  const code = descr.slice(1);
  const entry = TYPES[code];
  if (!entry || order === '>') throw new Error(`${file}: unsupported dtype '${descr}'`);
  const [type, Ctor] = entry;
  const count = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const nbytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - start !== nbytes) {
    throw new Error(`${file}: ${buf.length - start} data bytes, shape (${dims}) of ${descr} needs ${nbytes}`);
  }
  // Copy into a fresh, aligned buffer: typed arrays need offsets aligned to the element size.
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + nbytes));
  return { type, dims, data };
}

function writeNpy(file, type, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descrFor(type)}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads so that the data starts on a 64-byte boundary; the header ends with '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

module.exports = { readNpy, writeNpy };
