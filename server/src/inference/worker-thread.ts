/**
 * Inference worker entry: owns an InferenceEngine so ONNX Runtime's synchronous forward passes
 * (the Node binding runs them on the calling thread) never block the server's event loop.
 * Started by WorkerInferenceEngine; speaks worker-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceEngine } from './engine';
import { recordingSink, type MetricOp } from './metrics';
import type { GenerationSink } from './request';
import type { FromWorker, SerializedError, ToWorker, WorkerOptions } from './worker-protocol';

const port = parentPort!;
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

function serialize(err: unknown): SerializedError {
  const e = err as Error & { code?: string; modelId?: string; file?: string };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code, modelId: e?.modelId, file: e?.file };
}

let pending: MetricOp[] = [];
let flushQueued = false;
const sink = recordingSink((op) => {
  pending.push(op);
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      const ops = pending;
      pending = [];
      post({ t: 'metrics', ops });
    });
  }
});

let engine: InferenceEngine;
try {
  engine = await InferenceEngine.load({
    ...(workerData as WorkerOptions),
    metricsSink: sink,
    logger: {
      info: (obj, msg) => post({ t: 'log', level: 'info', obj, msg }),
      warn: (obj, msg) => post({ t: 'log', level: 'warn', obj, msg }),
    },
  });
  post({ t: 'ready', device: engine.device, models: engine.models() });
} catch (err) {
  // Report and let the thread end normally. Rethrowing would raise a second, generic 'error' on the
  // main thread that can arrive before this message (Node delivers them on different ports); a
  // normal exit drains this port first.
  post({ t: 'loadError', error: serialize(err) });
  port.close();
}

/** Aborts of the generations in progress. Each one's text goes from its scheduler output straight to the port. */
const generations = new Map<number, () => void>();

function portSink(id: number): GenerationSink {
  return {
    push: (c) => post({ t: 'chunk', id, text: c.text, tokenId: c.tokenId }),
    finish: (result) => {
      generations.delete(id);
      post({ t: 'done', id, result });
    },
    fail: (err) => {
      generations.delete(id);
      post({ t: 'error', id, error: serialize(err) });
    },
  };
}

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'generate': {
      try {
        generations.set(msg.id, engine.startGeneration(msg.spec, portSink(msg.id)));
      } catch (err) {
        post({ t: 'error', id: msg.id, error: serialize(err) });
      }
      break;
    }
    case 'abort':
      generations.get(msg.id)?.();
      break;
    case 'embed':
      engine.embed(msg.texts, msg.model !== undefined ? { model: msg.model } : {}).then(
        (vectors) => post({ t: 'embedded', id: msg.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer)),
        (err) => post({ t: 'error', id: msg.id, error: serialize(err) }),
      );
      break;
    case 'image':
      engine.generateImage(msg.req).then(
        (png) => post({ t: 'image', id: msg.id, png }), // copied: the bytes may sit in Node's shared Buffer pool
        (err) => post({ t: 'error', id: msg.id, error: serialize(err) }),
      );
      break;
    case 'close':
      void engine.close().finally(() => {
        post({ t: 'closed' });
        port.close();
      });
      break;
  }
});
