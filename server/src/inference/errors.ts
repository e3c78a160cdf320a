/** Error codes a caller of the inference engine can act on (map `busy` to 429/503, etc.). */
export type InferenceErrorCode =
  | 'busy'
  | 'unknown_model'
  | 'empty_prompt'
  | 'deadline'
  | 'aborted'
  | 'no_chat_template'
  /** A remote engine could not be reached, went away mid-stream or stalled. */
  | 'unavailable'
  /** A remote engine answered something that is not the OpenAI wire format. */
  | 'bad_response'
  | 'internal';

export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A bad models folder: bad JSON, schema violation, missing file, or an ONNX graph that does not match. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    message: string,
    readonly modelId?: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** ENSEMBLE_DEVICE=cuda or webgpu was requested but that execution provider cannot be used here (the message says what is missing). */
export class DeviceUnavailableError extends Error {
  override readonly name = 'DeviceUnavailableError';
}
