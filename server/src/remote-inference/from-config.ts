/** The remote engines ENSEMBLE_INFERENCE_* name, as RemoteInference options. */
import type { Config } from '../config';
import type { EngineLogger } from '../inference';
import type { Registry } from 'prom-client';
import type { RemoteInferenceOptions } from './remote-engine';

export function remoteInferenceOptions(config: Config, deps: { logger?: EngineLogger; metrics?: Registry } = {}): RemoteInferenceOptions {
  const key = config.ENSEMBLE_INFERENCE_API_KEY;
  const task = (urls: string[], apiKey: string | undefined, model: string | undefined) =>
    urls.length > 0 ? { urls, apiKey: apiKey ?? key, model } : { urls: config.ENSEMBLE_INFERENCE_URL, apiKey: apiKey ?? key, model };
  return {
    text: { urls: config.ENSEMBLE_INFERENCE_URL, apiKey: key, model: config.ENSEMBLE_INFERENCE_TEXT_MODEL },
    embed: task(config.ENSEMBLE_INFERENCE_EMBED_URL, config.ENSEMBLE_INFERENCE_EMBED_API_KEY, config.ENSEMBLE_INFERENCE_EMBED_MODEL),
    image: task(config.ENSEMBLE_INFERENCE_IMAGE_URL, config.ENSEMBLE_INFERENCE_IMAGE_API_KEY, config.ENSEMBLE_INFERENCE_IMAGE_MODEL),
    chat: config.ENSEMBLE_INFERENCE_CHAT === 'auto' ? 'auto' : config.ENSEMBLE_INFERENCE_CHAT === 'true',
    extendedSampling: config.ENSEMBLE_INFERENCE_SAMPLING === 'extended',
    stallMs: config.ENSEMBLE_INFERENCE_STALL_MS,
    healthMs: config.ENSEMBLE_INFERENCE_HEALTH_MS,
    ...deps,
  };
}
