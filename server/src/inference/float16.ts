/**
 * IEEE 754 half precision → float32, for graphs whose logits are float16 (model_fp16 / q4f16
 * exports). Node 20 has no Float16Array: ONNX Runtime hands float16 tensors over as Uint16Array.
 */
let table: Float32Array | undefined;

/** All 65,536 half values as float32 (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    table[h] =
      exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
}

export function halfToFloat32(src: Uint16Array): Float32Array {
  const t = halfTable();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}
