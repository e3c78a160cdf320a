import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { startJongodb } from './mongo';

declare module 'vitest' {
  interface ProvidedContext {
    /** MongoDB for the store suite: $MONGODB_URI when set, else a jongodb started for this run. */
    mongoUri: string;
    /**
     * MongoDB for the multi-process suites (test/scale), a jongodb of its own: their dozens of
     * processes would load the store suite's. (jongodb's findOneAndUpdate $inc is not atomic under
     * such concurrent load, which the store suite's parallel-appends test then sees; MongoDB's is.)
     */
    scaleMongoUri: string;
  }
}

// Global test setup: provides `mongoUri` and `scaleMongoUri` (inject(...) in tests) and stops jongodb afterwards.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide('mongoUri', external);
    project.provide('scaleMongoUri', external);
    return async () => {};
  }
  const [jongodb, scale] = await Promise.all([startJongodb(), startJongodb()]);
  project.provide('mongoUri', jongodb.uri);
  project.provide('scaleMongoUri', scale.uri);
  return async () => {
    await Promise.all([jongodb.stop(), scale.stop()]);
  };
}
