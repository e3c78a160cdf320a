// The WebGPU execution provider (Dawn over Vulkan) and the device choice. On a host without a GPU
// the WebGPU path runs on SwiftShader, the software Vulkan that Debian's chromium package ships
// (scripts/install-chromium.sh): slow, so few tokens, but the same code path as on a GPU.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM, emptyKV, type ForwardOutput, type KVBatch } from '../../server/src/inference/causal-lm';
import { acceleratorOptions, chooseDevice, findVulkanLoader, SWIFTSHADER_ICD, vulkanIcds, type WebGpuFacts } from '../../server/src/inference/device';
import { InferenceEngine } from '../../server/src/inference/engine';
import { DeviceUnavailableError } from '../../server/src/inference/errors';
import { openSession, readManifest, type TextGenerationEntry } from '../../server/src/inference/manifest';
import { WorkerInferenceEngine } from '../../server/src/inference/worker-engine';
import { MODELS_DIR } from './helpers';

const quiet = { info: () => {}, warn: () => {} };
const TOLERANCE = 1e-3;

const swiftshader = (): VulkanIcdLike => ({ manifest: SWIFTSHADER_ICD, library: './libvk_swiftshader.so', software: true });
const nvidia = (): VulkanIcdLike => ({ manifest: '/usr/share/vulkan/icd.d/nvidia_icd.json', library: 'libGLX_nvidia.so.0', software: false });
type VulkanIcdLike = WebGpuFacts['icds'][number];
const gpu = (over: Partial<WebGpuFacts> = {}): WebGpuFacts => ({
  loader: '/lib/x86_64-linux-gnu/libvulkan.so.1',
  icds: [nvidia()],
  gpuNodes: ['/dev/nvidia0'],
  loads: true,
  ...over,
});
const noCuda = { loads: false, error: 'libonnxruntime_providers_cuda.so: cannot open shared object file' };

describe('device choice (pure)', () => {
  it('auto takes CUDA when its provider loads', () => {
    expect(chooseDevice('auto', { cuda: { loads: true } })).toMatchObject({ device: 'cuda' });
  });

  it('auto takes WebGPU on a hardware adapter when CUDA does not load', () => {
    const c = chooseDevice('auto', { cuda: noCuda, webgpu: gpu() });
    expect(c.device).toBe('webgpu');
    expect(c.reason).toMatch(/CUDA execution provider is unavailable.*libGLX_nvidia/);
  });

  it('auto stays on the CPU with only SwiftShader, no GPU device node, or a failing adapter — and says why', () => {
    const soft = chooseDevice('auto', { cuda: noCuda, webgpu: gpu({ icds: [swiftshader()], gpuNodes: [], loads: undefined }) });
    expect(soft).toMatchObject({ device: 'cpu' });
    expect(soft.reason).toMatch(/no hardware WebGPU adapter \(only libvk_swiftshader\.so; no GPU device node\)/);
    expect(chooseDevice('auto', { cuda: noCuda, webgpu: gpu({ gpuNodes: [] }) }).device).toBe('cpu');
    const failing = chooseDevice('auto', { cuda: noCuda, webgpu: gpu({ loads: false, error: 'No supported adapters' }) });
    expect(failing).toMatchObject({ device: 'cpu' });
    expect(failing.reason).toMatch(/WebGPU failed on the hardware adapter: No supported adapters/);
    expect(chooseDevice('auto', { cuda: noCuda, webgpu: gpu({ loader: null }) }).reason).toMatch(/libvulkan1/);
  });

  it('webgpu asked for by name runs on a software adapter, and says it is software', () => {
    const c = chooseDevice('webgpu', { webgpu: gpu({ icds: [swiftshader()], gpuNodes: [] }) });
    expect(c.device).toBe('webgpu');
    expect(c.reason).toMatch(/software: libvk_swiftshader\.so/);
  });

  it('webgpu asked for by name and missing is a startup error naming what is missing, never a fallback', () => {
    const fail = (w: WebGpuFacts): Error => {
      try {
        chooseDevice('webgpu', { webgpu: w });
      } catch (err) {
        return err as Error;
      }
      throw new Error('chooseDevice did not throw');
    };
    const noLoader = fail(gpu({ loader: null }));
    expect(noLoader).toBeInstanceOf(DeviceUnavailableError);
    expect(noLoader.message).toMatch(/ENSEMBLE_DEVICE=webgpu.*libvulkan\.so\.1 is not installed \(apt-get install libvulkan1\)/);
    expect(fail(gpu({ icds: [] })).message).toMatch(/no Vulkan ICD.*VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
    expect(fail(gpu({ loads: false, error: 'No supported adapters' })).message).toMatch(/Dawn found no usable adapter.*No supported adapters/);
  });

  it('cuda asked for by name and missing is a startup error; cpu is always cpu', () => {
    expect(() => chooseDevice('cuda', { cuda: noCuda })).toThrow(DeviceUnavailableError);
    expect(() => chooseDevice('cuda', { cuda: noCuda })).toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(chooseDevice('cpu', {})).toMatchObject({ device: 'cpu' });
  });

  it('reads the ICD manifests the Vulkan loader would read, and tells software from hardware', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-icd-'));
    const write = (name: string, lib: string): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } }));
      return f;
    };
    const soft = write('swiftshader.json', './libvk_swiftshader.so');
    const lvp = write('lvp_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so');
    const hard = write('nvidia_icd.json', 'libGLX_nvidia.so.0');
    expect(vulkanIcds({ VK_ICD_FILENAMES: `${soft}:${lvp}` }).map((i) => i.software)).toEqual([true, true]);
    expect(vulkanIcds({ VK_DRIVER_FILES: hard, VK_ICD_FILENAMES: soft })).toEqual([{ manifest: hard, library: 'libGLX_nvidia.so.0', software: false }]);
    // A folder in XDG_DATA_DIRS is searched as <dir>/vulkan/icd.d.
    fs.mkdirSync(path.join(dir, 'share/vulkan/icd.d'), { recursive: true });
    fs.copyFileSync(hard, path.join(dir, 'share/vulkan/icd.d/nvidia_icd.json'));
    const found = vulkanIcds({ HOME: dir, XDG_CONFIG_DIRS: path.join(dir, 'none'), XDG_DATA_DIRS: path.join(dir, 'share') });
    expect(found.some((i) => i.library === 'libGLX_nvidia.so.0' && !i.software)).toBe(true);
  });
});

const haveSwiftShader = fs.existsSync(SWIFTSHADER_ICD);
if (!haveSwiftShader) {
  console.warn(`webgpu.test: SKIPPED the WebGPU runs: ${SWIFTSHADER_ICD} is absent (bash scripts/install-chromium.sh installs it)`);
}

describe.skipIf(!haveSwiftShader)(`WebGPU on SwiftShader (needs ${SWIFTSHADER_ICD})`, () => {
  let entry: TextGenerationEntry;
  let cpuLM: CausalLM;
  let gpuLM: CausalLM;
  const sessions: Array<Awaited<ReturnType<typeof openSession>>> = [];

  beforeAll(async () => {
    // Read by the Vulkan loader when Dawn first creates its instance (after this line).
    process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    if (findVulkanLoader() === null) throw new Error('the Vulkan loader libvulkan.so.1 is missing: apt-get install libvulkan1 (bash scripts/install-chromium.sh does)');
    const manifest = readManifest(MODELS_DIR);
    entry = manifest.models.find((m): m is TextGenerationEntry => m.task === 'text-generation')!;
    const cpu = await openSession(manifest, entry, { executionProviders: ['cpu'] });
    const webgpu = await openSession(manifest, entry, acceleratorOptions('webgpu', entry));
    sessions.push(cpu, webgpu);
    cpuLM = new CausalLM(cpu, entry);
    gpuLM = new CausalLM(webgpu, entry, undefined, { kvOnDevice: true });
  });
  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.release()));
  });

  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  };

  /** A left-padded prefill of `prompts` then `steps` batched decode steps, feeding each step's present back. */
  async function run(lm: CausalLM, prompts: number[][], steps: number): Promise<{ logits: Float32Array[]; last: KVBatch }> {
    const B = prompts.length;
    const T = Math.max(...prompts.map((p) => p.length));
    const ids = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * T);
    const pos = new BigInt64Array(B * T);
    prompts.forEach((p, r) => p.forEach((t, j) => {
      const o = r * T + T - p.length + j;
      ids[o] = BigInt(t);
      mask[o] = 1n;
      pos[o] = BigInt(j);
    }));
    let out: ForwardOutput = await lm.forward({ rows: B, seq: T, inputIds: ids, attentionMask: mask, positionIds: pos, past: emptyKV(lm.shape, B) });
    const logits = [out.logits];
    for (let s = 0; s < steps; s++) {
      const P = out.present.past;
      const stepMask = new BigInt64Array(B * (P + 1));
      prompts.forEach((p, r) => stepMask.fill(1n, r * (P + 1) + (T - p.length), (r + 1) * (P + 1)));
      const next = BigInt64Array.from(prompts.map((_, r) => BigInt(100 + 17 * r + s)));
      const stepPos = BigInt64Array.from(prompts.map((p) => BigInt(p.length + s)));
      const past = out.present;
      out = await lm.forward({ rows: B, seq: 1, inputIds: next, attentionMask: stepMask, positionIds: stepPos, past });
      CausalLM.release(past);
      logits.push(out.logits);
    }
    return { logits, last: out.present };
  }

  it('prefill and decode logits (KV kept on the device) are within 1e-3 of the CPU (relative to their scale), and so is the downloaded KV', async () => {
    const prompts = [[1, 45, 300, 12, 77, 901, 5], [1, 2000, 31], [1, 640, 18, 3999, 250]];
    const cpu = await run(cpuLM, prompts, 3);
    const dev = await run(gpuLM, prompts, 3);
    expect(dev.last.onDevice).toHaveLength(2 * entry.numLayers); // never came to the host between steps
    expect(dev.last.onDevice![0]!.location).toBe('gpu-buffer');
    // Relative to the scale of the values: the trained model's logits reach ~20, where the device's
    // fp32 accumulation order differs by ~1.5e-3 (under 1e-4 of the scale).
    const scaleOf = (xs: ArrayLike<number>[]): number => {
      let m = 1;
      for (const x of xs) for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
      return m;
    };
    const logitScale = scaleOf(cpu.logits);
    const diffs = cpu.logits.map((l, i) => maxDiff(l, dev.logits[i]!));
    expect(Math.max(...diffs) / logitScale).toBeLessThan(TOLERANCE);
    await gpuLM.toHost(dev.last);
    expect(dev.last.onDevice).toBeUndefined();
    const kvDiff = Math.max(...cpu.last.data.map((a, i) => maxDiff(a, dev.last.data[i]!)));
    expect(kvDiff / scaleOf(cpu.last.data)).toBeLessThan(TOLERANCE);
    // The comparison can fail: a different token at one step moves the logits far past the tolerance.
    const other = await run(cpuLM, prompts.map((p) => [...p.slice(0, -1), 42]), 0);
    expect(maxDiff(other.logits[0]!, dev.logits[0]!) / logitScale).toBeGreaterThan(TOLERANCE);
  });

  it('a Hugging Face folder (the Qwen2/GQA fixture): logits within 1e-3 of the CPU on the device, and the engine generates the same greedy text', async () => {
    const folder = path.join(MODELS_DIR, 'fixtures/hf/qwen2-gqa');
    const manifest = readManifest(MODELS_DIR, { textModel: folder });
    const hf = manifest.models.find((m): m is TextGenerationEntry => m.task === 'text-generation')!;
    const cpuSession = await openSession(manifest, hf, { executionProviders: ['cpu'] });
    const gpuSession = await openSession(manifest, hf, acceleratorOptions('webgpu', hf));
    sessions.push(cpuSession, gpuSession);
    const prompts = [[1, 45, 300, 12, 77, 201, 5], [1, 200, 31], [1, 64, 18, 399, 250]];
    const cpu = await run(new CausalLM(cpuSession, hf), prompts, 3);
    const dev = await run(new CausalLM(gpuSession, hf, undefined, { kvOnDevice: true }), prompts, 3);
    // Prefill logits of left-padding positions are noise (a row that attends to nothing); compare the real ones.
    const V = hf.vocabSize;
    const T = Math.max(...prompts.map((p) => p.length));
    const real = (l: Float32Array): number[] => prompts.flatMap((p, r) => [...l.subarray((r * T + T - p.length) * V, (r + 1) * T * V)]);
    // Relative to the logits' scale: this fixture's random weights give logits up to ~3, where the
    // device's fp32 accumulation order differs by up to 1.3e-3 (4e-4 of the scale) in the prefill.
    const scale = Math.max(1, ...real(cpu.logits[0]!).map(Math.abs));
    expect(maxDiff(real(cpu.logits[0]!), real(dev.logits[0]!)) / scale).toBeLessThan(TOLERANCE);
    expect(Math.max(...cpu.logits.slice(1).map((l, i) => maxDiff(l, dev.logits[i + 1]!))) / scale).toBeLessThan(TOLERANCE);
    CausalLM.release(cpu.last);
    CausalLM.release(dev.last);

    const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxTokens: 6, ignoreEos: true };
    const engines = await Promise.all((['cpu', 'webgpu'] as const).map((device) => InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: folder, device, logger: quiet })));
    try {
      const [onCpu, onGpu] = await Promise.all(
        engines.map((e) => Promise.all(['Once upon a time', 'The dog', 'Tom ran to the park and'].map((prompt, i) => e.generate({ prompt, roomId: `r${i}`, ...greedy }).result.then((r) => r.text)))),
      );
      expect(onGpu).toEqual(onCpu);
    } finally {
      await Promise.allSettled(engines.map((e) => e.close()));
    }
  });

  it('the engine on webgpu generates the same greedy tokens as on the CPU, batched with re-packs (in-process and on the worker)', async () => {
    const prompts = ['Once upon a time', 'The little fox looked at the moon and said', 'Tom'];
    const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxTokens: 6, ignoreEos: true };
    const texts = async (e: { generate: InferenceEngine['generate'] }): Promise<string[]> =>
      Promise.all(prompts.map((prompt, i) => e.generate({ prompt, roomId: `room-${i}`, ...greedy }).result.then((r) => r.text)));
    const logs: string[] = [];
    const cpu = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', logger: quiet });
    const gpu = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'webgpu', logger: { info: (_o, m) => logs.push(m ?? ''), warn: quiet.warn } });
    try {
      expect(gpu.device).toBe('webgpu');
      expect(logs.some((m) => /inference device: webgpu \(ENSEMBLE_DEVICE=webgpu \((software|hardware): /.test(m))).toBe(true);
      const want = await texts(cpu);
      expect(await texts(gpu)).toEqual(want);
      expect(gpu.scheduler().repacks).toBeGreaterThan(0);
      const worker = await WorkerInferenceEngine.load({ modelsDir: MODELS_DIR, device: 'webgpu', logger: quiet });
      try {
        expect(worker.device).toBe('webgpu');
        expect(await texts(worker)).toEqual(want);
      } finally {
        await worker.close();
      }
    } finally {
      await Promise.allSettled([cpu.close(), gpu.close()]);
    }
  });
});
