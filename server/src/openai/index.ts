export { createOpenAiRouter, type OpenAiRouterOptions } from './router';
export { OpenAiError } from './errors';
