// Worker entry when the server runs from TypeScript sources: registers tsx in this thread, then
// loads the real entry (update-decoder-worker.ts). A compiled build points at the .js file.
import { register } from 'tsx/esm/api';

register();
await import('./update-decoder-worker.ts');
