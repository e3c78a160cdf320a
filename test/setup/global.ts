// Global test setup. The storage engineer adds the MongoDB launcher here (see test/setup/mongo.ts).
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
