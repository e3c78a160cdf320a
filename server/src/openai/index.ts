export { createOpenAiRouter, openAiRouterFromConfig, type OpenAiRouterOptions } from './router';
export { OpenAiError } from './errors';
