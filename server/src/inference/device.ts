/**
 * Execution-provider choice (ENSEMBLE_DEVICE): `cuda`, `webgpu` (Dawn over Vulkan, bundled in
 * onnxruntime-node's Linux build), `cpu`, or `auto`: CUDA if its provider loads, else WebGPU if a
 * hardware adapter is present, else the CPU. A device asked for by name is used or refused at
 * startup (DeviceUnavailableError) — never replaced by another one.
 *
 * onnxruntime-node does not report which adapter Dawn picked, so "hardware adapter" is read from
 * what the Vulkan loader will see: the ICD manifests it loads (VK_ICD_FILENAMES / VK_DRIVER_FILES,
 * else the standard icd.d folders), whether any ICD is not a software rasteriser (SwiftShader,
 * lavapipe, the mock ICD), and whether a GPU device node exists (/dev/nvidia*, /dev/dri/renderD*),
 * then confirmed by creating a WebGPU session on a one-node graph.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Device, Inference } from './api';
import { copyGraph } from './device-kv';
import { DeviceUnavailableError } from './errors';
import type { ModelEntry } from './manifest';

export type RequestedDevice = Device;
export type ResolvedDevice = Exclude<Inference['device'], 'remote'>;

/** What the host offers, as the choice needs it (gathered by probeDevices; plain data for tests). */
export interface DeviceFacts {
  /** Whether a CUDA session could be created, and why not. Absent: not probed. */
  cuda?: { loads: boolean; error?: string };
  webgpu?: WebGpuFacts;
}
export interface WebGpuFacts {
  /** Path of the Vulkan loader (libvulkan.so.1) the process will load, or null. */
  loader: string | null;
  icds: VulkanIcd[];
  /** GPU device nodes present (/dev/nvidia0, /dev/dri/renderD128, …). */
  gpuNodes: string[];
  /** Whether a WebGPU session could be created, and why not. Absent: not tried. */
  loads?: boolean;
  error?: string;
}
export interface VulkanIcd {
  manifest: string;
  library: string;
  software: boolean;
}

export interface DeviceChoice {
  device: ResolvedDevice;
  reason: string;
}

const SOFTWARE_ICD = /swiftshader|lvp|lavapipe|mock_icd/i;
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Whether the facts show a hardware (not software-rendered) Vulkan adapter. */
export function hasHardwareAdapter(w: WebGpuFacts): boolean {
  return w.loader !== null && w.icds.some((i) => !i.software) && w.gpuNodes.length > 0;
}

/** The decision, from facts alone. Throws DeviceUnavailableError for a named device that is missing. */
export function chooseDevice(requested: RequestedDevice, facts: DeviceFacts): DeviceChoice {
  if (requested === 'cpu') return { device: 'cpu', reason: 'ENSEMBLE_DEVICE=cpu' };
  if (requested === 'cuda') {
    if (facts.cuda?.loads) return { device: 'cuda', reason: 'ENSEMBLE_DEVICE=cuda' };
    throw new DeviceUnavailableError(
      `ENSEMBLE_DEVICE=cuda, but the CUDA execution provider could not be loaded: ${facts.cuda?.error ?? 'not probed'}. ` +
        'Install the CUDA build of onnxruntime-node (ONNXRUNTIME_NODE_INSTALL=cuda12 when installing) on a host with CUDA 12 and cuDNN, ' +
        'or set ENSEMBLE_DEVICE=webgpu, auto or cpu.',
    );
  }
  const w = facts.webgpu;
  if (requested === 'webgpu') {
    const missing = w ? webgpuMissing(w) : 'not probed';
    if (missing === null) return { device: 'webgpu', reason: `ENSEMBLE_DEVICE=webgpu (${adapterWords(w!)})` };
    throw new DeviceUnavailableError(`ENSEMBLE_DEVICE=webgpu, but WebGPU cannot run here: ${missing}. Or set ENSEMBLE_DEVICE=cpu.`);
  }
  const noCuda = `the CUDA execution provider is unavailable (${facts.cuda?.error ?? 'not probed'})`;
  if (facts.cuda?.loads) return { device: 'cuda', reason: 'the CUDA execution provider loads' };
  if (w && hasHardwareAdapter(w) && w.loads !== false) {
    return { device: 'webgpu', reason: `${noCuda}; WebGPU on a hardware adapter (${adapterWords(w)})` };
  }
  const why = !w
    ? 'WebGPU not probed'
    : hasHardwareAdapter(w)
      ? `WebGPU failed on the hardware adapter: ${w.error ?? 'unknown error'}`
      : w.icds.length > 0 && w.loader !== null
        ? `no hardware WebGPU adapter (only ${w.icds.map((i) => path.basename(i.library)).join(', ')}${w.gpuNodes.length ? '' : '; no GPU device node'}); set ENSEMBLE_DEVICE=webgpu to use a software adapter`
        : `no hardware WebGPU adapter (${webgpuMissing(w) ?? 'none found'})`;
  return { device: 'cpu', reason: `${noCuda}; ${why}` };
}

/** What keeps WebGPU from running, in words that say what to install; null when nothing does. */
function webgpuMissing(w: WebGpuFacts): string | null {
  if (w.loader === null) return 'the Vulkan loader libvulkan.so.1 is not installed (apt-get install libvulkan1)';
  if (w.icds.length === 0) {
    return (
      'no Vulkan ICD (driver manifest) found in VK_ICD_FILENAMES/VK_DRIVER_FILES or the icd.d folders: install the GPU driver\'s Vulkan ICD ' +
      `(NVIDIA: nvidia_icd.json from the driver), or for the software adapter set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (Debian package chromium)`
    );
  }
  if (w.loads === false) return `Dawn found no usable adapter through ${w.icds.map((i) => i.manifest).join(', ')}: ${w.error ?? 'unknown error'}`;
  return null;
}

function adapterWords(w: WebGpuFacts): string {
  return hasHardwareAdapter(w)
    ? `hardware: ${w.icds.filter((i) => !i.software).map((i) => path.basename(i.library)).join(', ')}`
    : `software: ${w.icds.map((i) => path.basename(i.library)).join(', ')} — slow, for correctness checks`;
}

/** Gathers the facts `requested` needs (CUDA only for auto/cuda; WebGPU only for auto/webgpu). */
export async function probeDevices(requested: RequestedDevice, env: NodeJS.ProcessEnv = process.env): Promise<DeviceFacts> {
  const facts: DeviceFacts = {};
  if (requested === 'cpu') return facts;
  if (requested === 'auto' || requested === 'cuda') {
    facts.cuda = await trySession('cuda');
    if (facts.cuda.loads || requested === 'cuda') return facts;
  }
  const w: WebGpuFacts = { loader: findVulkanLoader(env), icds: vulkanIcds(env), gpuNodes: gpuDeviceNodes() };
  // auto never starts Dawn (or SwiftShader) unless a hardware adapter is there to be used.
  if (w.loader !== null && w.icds.length > 0 && (requested === 'webgpu' || hasHardwareAdapter(w))) {
    Object.assign(w, await trySession('webgpu'));
  }
  facts.webgpu = w;
  return facts;
}

async function trySession(provider: 'cuda' | 'webgpu'): Promise<{ loads: boolean; error?: string }> {
  try {
    const s = await ort.InferenceSession.create(copyGraph(1), { executionProviders: [provider] });
    await s.release();
    return { loads: true };
  } catch (err) {
    return { loads: false, error: (err as Error).message.split('\n')[0]!.slice(-300) };
  }
}

/** Where the dynamic linker would find libvulkan.so.1 (LD_LIBRARY_PATH, the ld.so cache, the usual folders). */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  try {
    if (fs.readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')) return 'libvulkan.so.1 (ld.so.cache)';
  } catch {
    // no cache: look in the folders
  }
  dirs.push('/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib');
  for (const d of dirs) {
    const f = path.join(d, 'libvulkan.so.1');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/** The ICD manifests the Vulkan loader reads, in its own search order (Linux). */
export function vulkanIcds(env: NodeJS.ProcessEnv = process.env): VulkanIcd[] {
  const override = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  const home = env.HOME ?? os.homedir();
  const entries = override
    ? override.split(':').filter(Boolean)
    : [
        ...(env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'),
        '/etc',
        env.XDG_DATA_HOME ?? path.join(home, '.local/share'),
        ...(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'),
      ].map((d) => path.join(d, 'vulkan/icd.d'));
  if (override && env.VK_ADD_DRIVER_FILES) entries.push(...env.VK_ADD_DRIVER_FILES.split(':').filter(Boolean));
  const files = entries.flatMap((e) => {
    try {
      return fs.statSync(e).isDirectory() ? fs.readdirSync(e).filter((f) => f.endsWith('.json')).map((f) => path.join(e, f)) : [e];
    } catch {
      return [];
    }
  });
  return files.flatMap((manifest): VulkanIcd[] => {
    try {
      const library = String((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
      return library ? [{ manifest, library, software: SOFTWARE_ICD.test(path.basename(library)) }] : [];
    } catch {
      return [];
    }
  });
}

function gpuDeviceNodes(): string[] {
  const list = (dir: string, re: RegExp): string[] => {
    try {
      return fs.readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  };
  return [...list('/dev', /^nvidia\d+$/), ...list('/dev/dri', /^renderD\d+$/)];
}

/**
 * Session options for one model on an accelerator. On WebGPU a text model's `present.*` outputs
 * stay on the device (fed back as the next step's past, see device-kv.ts); logits come to the host.
 */
export function acceleratorOptions(device: 'webgpu' | 'cuda', entry: ModelEntry, deviceKV = true): ort.InferenceSession.SessionOptions {
  if (device === 'cuda' || entry.task !== 'text-generation' || !deviceKV) return { executionProviders: [device] };
  const preferredOutputLocation: Record<string, 'gpu-buffer'> = {};
  for (let i = 0; i < entry.numLayers; i++) {
    preferredOutputLocation[`present.${i}.key`] = 'gpu-buffer';
    preferredOutputLocation[`present.${i}.value`] = 'gpu-buffer';
  }
  return { executionProviders: ['webgpu'], preferredOutputLocation };
}

/** A model that fails to load on a device that was asked for by name. */
export function modelOnDeviceError(device: 'webgpu' | 'cuda', modelId: string, why: string, cause: unknown): DeviceUnavailableError {
  const hint =
    device === 'cuda'
      ? 'Install the CUDA build of onnxruntime-node (ONNXRUNTIME_NODE_INSTALL=cuda12 when installing) on a host with CUDA 12 and cuDNN, or set ENSEMBLE_DEVICE=webgpu, auto or cpu.'
      : 'Set ENSEMBLE_DEVICE=auto or cpu to run it on the CPU.';
  return new DeviceUnavailableError(`ENSEMBLE_DEVICE=${device}, but model "${modelId}" could not be loaded on ${device}: ${why}. ${hint}`, { cause });
}

/** Probes, chooses, and logs the choice once (warn when auto ends on the CPU). */
export async function resolveDevice(
  requested: RequestedDevice,
  logger: { info(o: object, m?: string): void; warn(o: object, m?: string): void },
): Promise<DeviceChoice> {
  const choice = chooseDevice(requested, await probeDevices(requested));
  if (requested === 'auto' && choice.device === 'cpu') logger.warn({ reason: choice.reason }, `ENSEMBLE_DEVICE=auto: ${choice.reason}; falling back to CPU`);
  else logger.info({ device: choice.device, reason: choice.reason }, `inference device: ${choice.device} (${choice.reason})`);
  return choice;
}
