import { InferenceEngine } from './engine';
const threads = Number(process.argv[2]) || undefined;
const e = await InferenceEngine.load({ modelsDir: '/tmp/devmodels/real', device: 'cpu', maxBatch: 16, threads, logger: { info() {}, warn() {} } });
const s: any = e.scheduler(); const lm = s.lm;
const orig = lm.forward.bind(lm); let fwd = 0; let nf = 0; let fwdDecode = 0; let nd = 0;
lm.forward = async (x: any, o: any, p: any) => { const t = performance.now(); const r = await orig(x, o, p); const d = performance.now() - t; fwd += d; nf++; if (x.seq === 1) { fwdDecode += d; nd++; } return r; };
for (const B of [1, 1, 8, 8, 16]) {
  fwd = 0; nf = 0; fwdDecode = 0; nd = 0;
  const t = performance.now(); const c = process.cpuUsage();
  const rs = await Promise.all(Array.from({ length: B }, (_, i) => e.generate({ prompt: 'Once upon a time there was a cat ' + i, roomId: 'r' + i, maxTokens: 64, seed: i }).result));
  const tot = performance.now() - t; const u = process.cpuUsage(c);
  const toks = rs.reduce((a, r) => a + r.tokens, 0);
  console.log(`B=${B}: ${toks} tok, wall ${tot.toFixed(0)} ms, cpu ${((u.user + u.system) / 1000).toFixed(0)} ms; forward ${fwd.toFixed(0)} ms / ${nf} calls; decode fwd ${(fwdDecode / nd).toFixed(2)} ms/step; non-forward ${(tot - fwd).toFixed(0)} ms (${((tot - fwd) / nd).toFixed(2)} ms/step)`);
}
await e.close();
