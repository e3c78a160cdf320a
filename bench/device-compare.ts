/**
 * Tokens/s on an execution provider vs the CPU, through the same engine and scheduler
 * (`npx tsx bench/inference-bench.ts --device webgpu [--tokens 16] [--models DIR]`).
 *
 * Same requests on each side (fixed seeds, `ignoreEos`, so every request makes exactly maxTokens
 * tokens), run 1, 4 and 8 at once. For WebGPU a third row runs with the KV cache copied to the
 * host each step (`deviceKV: false`), which is what keeping it on the device saves. On a host
 * without a GPU, WebGPU runs on SwiftShader (software Vulkan on the CPU cores): those figures are
 * a smoke check of the path, not a GPU speed.
 */
import { InferenceEngine } from '../server/src/inference/engine';
import { SWIFTSHADER_ICD, vulkanIcds } from '../server/src/inference/device';
import { PROMPTS } from './generation';


interface Side {
  label: string;
  device: 'cpu' | 'webgpu' | 'cuda';
  deviceKV?: boolean;
}

export async function compareDevices(opts: { modelsDir: string; device: 'webgpu' | 'cuda'; maxTokens: number; threads?: number }): Promise<void> {
  const { modelsDir, device, maxTokens, threads } = opts;
  if (device === 'webgpu' && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && vulkanIcds().length === 0) {
    console.log(`no Vulkan ICD found; for the software adapter run with VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`);
  }
  const icds = vulkanIcds();
  const software = device === 'webgpu' && icds.length > 0 && icds.every((i) => i.software);
  console.log(`## ${device} vs cpu (maxTokens ${maxTokens}, ignoreEos; tok/s = generated tokens / wall time)`);
  if (software) console.log(`WebGPU adapter: software (${icds.map((i) => i.library).join(', ')}) — a smoke check of the path, NOT a GPU figure\n`);
  else console.log();

  const sides: Side[] = [{ label: 'cpu', device: 'cpu' }, { label: device, device }];
  if (device === 'webgpu') sides.push({ label: 'webgpu, KV copied to host each step', device, deviceKV: false });
  const concurrency = [1, 4, 8];
  const results = new Map<string, number[]>();
  for (const side of sides) {
    const engine = await InferenceEngine.load({
      modelsDir,
      device: side.device,
      deviceKV: side.deviceKV,
      maxBatch: 16,
      threads,
      logger: { info() {}, warn: (o, m) => console.log(`warn: ${m ?? ''} ${JSON.stringify(o)}`) },
    });
    const run = async (c: number): Promise<number> => {
      const t = performance.now();
      const rs = await Promise.all(
        Array.from({ length: c }, (_, i) =>
          engine.generate({ prompt: PROMPTS[i % PROMPTS.length]!, roomId: `room-${i}`, maxTokens, seed: 1000 + i, temperature: 0.8, ignoreEos: true }).result,
        ),
      );
      return rs.reduce((s, r) => s + r.tokens, 0) / ((performance.now() - t) / 1000);
    };
    await run(2); // warm-up: shader compilation on WebGPU, allocator pools on both
    const row: number[] = [];
    for (const c of concurrency) row.push(await run(c));
    results.set(side.label, row);
    await engine.close();
  }
  const cpu = results.get('cpu')!;
  console.log(`| engine | ${concurrency.map((c) => `${c} concurrent tok/s`).join(' | ')} | vs cpu at ${concurrency.join(' / ')} |`);
  console.log(`|---|${concurrency.map(() => '---:').join('|')}|---:|`);
  for (const [label, row] of results) {
    console.log(`| ${label} | ${row.map((x) => x.toFixed(1)).join(' | ')} | ${row.map((x, i) => `${(x / cpu[i]!).toFixed(2)}×`).join(' / ')} |`);
  }
  console.log();
}
