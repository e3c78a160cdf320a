/**
 * KV cache that stays on the WebGPU device between decode steps.
 *
 * With `preferredOutputLocation: 'gpu-buffer'` for the `present.*` outputs, ONNX Runtime hands
 * them back as GPU tensors that can be fed straight in as the next step's `past_key_values.*`:
 * no copy to the host per token. Only when the batch is re-packed (rows join) does the runner need
 * the cache on the host, and onnxruntime-node 1.30 cannot read a GPU tensor back itself: its
 * `Tensor.getData()` on a 'gpu-buffer' output aborts the process ("terminate called after
 * throwing 'char const*'"). So the download is a run of a tiny graph of Identity nodes on the
 * same WebGPU device whose outputs are CPU tensors; ONNX Runtime's own device-to-host copy does
 * the work.
 */
import * as ort from 'onnxruntime-node';

/** ONNX TensorProto element types used here. */
const ELEM_TYPE = { float32: 1, float16: 10 } as const;
export type KVElemType = keyof typeof ELEM_TYPE;

/**
 * The bytes of an ONNX model with `count` Identity nodes `x{i} → y{i}` over rank-4 tensors of any
 * shape (hand-encoded protobuf: four message types, so no protobuf dependency).
 */
export function copyGraph(count: number, elemType: KVElemType = 'float32'): Uint8Array {
  const dims = [0, 1, 2, 3].map((d) => message(1, [string(2, `d${d}`)])); // Dimension.dim_param
  const tensorType = message(1, [varint(1, ELEM_TYPE[elemType]), message(2, dims)]); // TypeProto.tensor_type
  const valueInfo = (field: number, name: string): number[] => message(field, [string(1, name), message(2, [tensorType])]);
  const graph: number[][] = [];
  for (let i = 0; i < count; i++) {
    graph.push(message(1, [string(1, `x${i}`), string(2, `y${i}`), string(3, `copy${i}`), string(4, 'Identity')]));
  }
  graph.push(string(2, 'kv_copy'));
  for (let i = 0; i < count; i++) graph.push(valueInfo(11, `x${i}`));
  for (let i = 0; i < count; i++) graph.push(valueInfo(12, `y${i}`));
  const model = [varint(1, 8), string(2, 'ensemble'), message(7, graph), message(8, [string(1, ''), varint(2, 17)])];
  return Uint8Array.from(model.flat());
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function varint(field: number, value: number): number[] {
  return [...varintBytes(field << 3), ...varintBytes(value)];
}
function bytesField(field: number, bytes: number[]): number[] {
  return [...varintBytes((field << 3) | 2), ...varintBytes(bytes.length), ...bytes];
}
function string(field: number, s: string): number[] {
  return bytesField(field, [...Buffer.from(s, 'utf8')]);
}
function message(field: number, parts: number[][]): number[] {
  return bytesField(field, parts.flat());
}

/** Copies device tensors to the host with one run of the copy graph. */
export class DeviceKVCopier {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly count: number,
  ) {}

  static async create(count: number, elemType: KVElemType = 'float32'): Promise<DeviceKVCopier> {
    const session = await ort.InferenceSession.create(copyGraph(count, elemType), { executionProviders: ['webgpu'] });
    return new DeviceKVCopier(session, count);
  }

  /** Host copies of `tensors` (exactly `count` of them), in order. */
  async toHost(tensors: readonly ort.Tensor[]): Promise<Float32Array[]> {
    if (tensors.length !== this.count) throw new Error(`copy graph takes ${this.count} tensors, got ${tensors.length}`);
    const feeds: Record<string, ort.Tensor> = {};
    tensors.forEach((t, i) => (feeds[`x${i}`] = t));
    const out = await this.session.run(feeds);
    return tensors.map((_, i) => (out[`y${i}`] as ort.Tensor).data as Float32Array);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Frees GPU tensors now rather than whenever the garbage collector gets to them. */
export function disposeTensors(tensors: readonly ort.Tensor[] | undefined): void {
  for (const t of tensors ?? []) t.dispose();
}
