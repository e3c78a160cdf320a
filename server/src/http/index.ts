export { createApp, type AppOptions } from './app';
export { HttpError, sendError, parseBody, zodIssues } from './errors';
