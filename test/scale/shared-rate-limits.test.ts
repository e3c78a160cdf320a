import { describe, expect, inject, it } from 'vitest';
import { storyText, type Ack, type ProposalInfo } from '../../shared/src/index';
import { api, createRoom, joinRoom, type ServerProcess } from '../helpers/index';
import { sharedDeploymentEnv, startDeploymentProcess, useRedisSuite } from '../helpers/deployment';
import { anchorAtEnd, call, connectMember, typeParagraph, waitFor, type Member } from '../agent/harness';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');
/** The AI collaborator's per-member burst (agent/extension.ts: 6 at once, 20 a minute). */
const AI_BURST = 6;

/**
 * Two real processes sharing MongoDB and Redis: the budgets a member or an address has are
 * counted by both together (Redis), so connecting to another process buys no fresh one.
 */
describe('rate limits shared by the processes (Redis)', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  /**
   * Sync processes whose inference engine is a closed port: the AI counts as available (requests
   * are admitted and charged), and each proposal then fails, which costs no model.
   */
  const deployment = (extra: Record<string, string> = {}) => ({
    ...sharedDeploymentEnv(suite.redis, mongoUri),
    ENSEMBLE_ROLE: 'sync',
    ENSEMBLE_DISABLE_AI: 'false',
    ENSEMBLE_INFERENCE_URL: 'http://127.0.0.1:9/v1',
    ENSEMBLE_INFERENCE_API_KEY: 'unused',
    ...extra,
  });
  const start = (env: Record<string, string>) => startDeploymentProcess(env, cleanup);

  async function member(proc: ServerProcess, roomId: string, token: string, memberId: string): Promise<Member> {
    const m = await connectMember(proc.port, roomId, token, memberId);
    cleanup.push(() => m.close());
    return m;
  }

  it("a member's AI requests are counted across both processes: the burst is one budget, not one per process", async () => {
    const env = deployment();
    const procs = await Promise.all([start(env), start(env)]);
    const room = await createRoom(procs[0]!.url);
    const memberId = room.member.id;
    const here = await member(procs[0]!, room.room.id, room.token, memberId);
    const there = await member(procs[1]!, room.room.id, room.token, memberId);
    const text = typeParagraph(here.doc, 'The lighthouse keeper counted the ships.');
    await waitFor(() => storyText(there.doc).includes('lighthouse'), 10_000, 'the paragraph on the other process');
    const anchor = anchorAtEnd(text);
    const outcomes: string[] = [];
    // Alternating processes: each sees only half of the requests.
    for (let i = 0; i <= AI_BURST; i++) {
      const socket = (i % 2 === 0 ? here : there).socket;
      const res = await call<Ack<{ proposal: ProposalInfo }>>(socket, 'proposal:request', { anchor, mode: 'continue', alternatives: 1 });
      outcomes.push(res.ok ? 'ok' : res.error.code);
    }
    expect(outcomes.slice(0, AI_BURST).filter((o) => o === 'rate_limited')).toEqual([]);
    expect(outcomes[AI_BURST]).toBe('rate_limited');
  });

  it('room creations and joins from one address are counted across both processes', async () => {
    const env = deployment({ ENSEMBLE_RATE_LIMIT_PER_MIN: '4' });
    const [a, b] = await Promise.all([start(env), start(env)]);
    const room = await createRoom(a.url);
    await joinRoom(b.url, room.room.joinCode, 'one');
    await joinRoom(a.url, room.room.joinCode, 'two');
    await joinRoom(b.url, room.room.joinCode, 'three');
    // Four on the two processes together: the fifth is refused on either, though each saw only two.
    for (const proc of [a, b]) {
      const refused = await api(proc.url, 'POST', '/api/rooms/join', { body: { joinCode: room.room.joinCode, displayName: 'four' } });
      expect(refused.status).toBe(429);
    }
  });
});
