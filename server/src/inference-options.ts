/** The engine options the configuration names (ENSEMBLE_MODELS_DIR, ENSEMBLE_TEXT_MODEL, ...), for whichever process loads the models. */
import type { Config } from './config';
import type { EngineOptions } from './inference';

export function engineOptions(config: Config): EngineOptions {
  return {
    modelsDir: config.ENSEMBLE_MODELS_DIR,
    textModel: config.ENSEMBLE_TEXT_MODEL,
    textDtype: config.ENSEMBLE_TEXT_DTYPE,
    embedModel: config.ENSEMBLE_EMBED_MODEL,
    device: config.ENSEMBLE_DEVICE,
    maxBatch: config.ENSEMBLE_MAX_BATCH,
    maxQueue: config.ENSEMBLE_MAX_QUEUE,
    threads: config.ENSEMBLE_THREADS,
    stepDelayMs: config.ENSEMBLE_FAULT_STEP_DELAY_MS,
  };
}
