/** Messages between WorkerInferenceEngine (main thread) and worker-thread.ts. */
import type { EngineOptions, ImageRequest, ModelInfo } from './api';
import type { MetricOp } from './metrics';
import type { GenerationSpec } from './request';
import type { GenerationResult } from './stream';

export type WorkerOptions = Omit<EngineOptions, 'logger' | 'metrics' | 'metricsSink'>;

export type ToWorker =
  /** Validated on the main thread (request.ts); the worker runs it as is. */
  | { t: 'generate'; id: number; spec: GenerationSpec }
  | { t: 'abort'; id: number }
  | { t: 'embed'; id: number; texts: string[]; model?: string }
  | { t: 'image'; id: number; req: ImageRequest }
  | { t: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  modelId?: string;
  file?: string;
}

export type FromWorker =
  | { t: 'ready'; device: 'cpu' | 'webgpu' | 'cuda'; models: ModelInfo[] }
  | { t: 'loadError'; error: SerializedError }
  | { t: 'chunk'; id: number; text: string; tokenId: number }
  | { t: 'done'; id: number; result: GenerationResult }
  | { t: 'error'; id: number; error: SerializedError }
  | { t: 'embedded'; id: number; vectors: Float32Array[] }
  | { t: 'image'; id: number; png: Uint8Array }
  | { t: 'metrics'; ops: MetricOp[] }
  | { t: 'log'; level: 'info' | 'warn'; obj: object; msg?: string }
  | { t: 'closed' };
