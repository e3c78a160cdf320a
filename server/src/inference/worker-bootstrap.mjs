// Worker entry when the server runs from TypeScript sources: registers tsx in this thread, then
// loads the real entry (worker-thread.ts). A compiled build points the Worker at worker-thread.js.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
