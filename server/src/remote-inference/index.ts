export { RemoteInference, type RemoteInferenceOptions, type RemoteTask } from './remote-engine';
export { remoteInferenceOptions } from './from-config';
