import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftDocName } from '../../shared/src/index';
import { connectClient, type TestClient } from '../helpers/index';
import { api, createRoom, joinRoom, removeDir, startServer, waitFor, type TestServer } from './harness';

const hasAgent = (c: TestClient) => [...c.provider.awareness.getStates().values()].some((s) => (s.user as { agent?: unknown } | undefined)?.agent);

/** Assignment mode with the AI collaborator running: a student's draft is no room, so the agent stays out. */
describe('the agent and students’ drafts', () => {
  let srv: TestServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    srv = await startServer({ engine: null });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('joins the shared story’s presence but never a draft’s', async () => {
    const teacher = await createRoom(srv.http, 'classroom', 'Ms Tan');
    expect((await api(srv.http, 'PATCH', `/api/rooms/${teacher.room.id}/settings`, { assignmentMode: true }, teacher.token)).status).toBe(200);
    const sam = await joinRoom(srv.http, teacher.room.joinCode, 'Sam');
    const syncUrl = `ws://127.0.0.1:${srv.port}/sync`;
    const draft = connectClient(syncUrl, draftDocName(teacher.room.id, sam.member.id), sam.token);
    clients.push(draft);
    await draft.synced;
    const shared = connectClient(syncUrl, teacher.room.id, sam.token);
    clients.push(shared);
    await shared.synced;
    // The agent attached to the room loaded after the draft: it has seen both loads by now.
    await waitFor(() => hasAgent(shared), 10_000, 'agent in the shared story');
    expect(hasAgent(draft)).toBe(false);
  });
});
