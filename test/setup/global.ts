import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { startJongodb } from './mongo';

declare module 'vitest' {
  interface ProvidedContext {
    /** MongoDB for the store suite: $MONGODB_URI when set, else a jongodb started for this run. */
    mongoUri: string;
  }
}

// Global test setup: provides `mongoUri` (inject('mongoUri') in tests) and stops jongodb afterwards.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide('mongoUri', external);
    return async () => {};
  }
  const jongodb = await startJongodb();
  project.provide('mongoUri', jongodb.uri);
  return async () => {
    await jongodb.stop();
  };
}
