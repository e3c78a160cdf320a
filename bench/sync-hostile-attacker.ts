/**
 * The hostile member of bench/sync-hostile.ts, as a process of its own:
 *   node --import tsx bench/sync-hostile-attacker.ts <syncUrl> <roomId> <token> <victimClientId>
 * Builds every attack once, then sends them in a loop (a fresh connection whenever the server
 * closed the last one) and prints `{"rounds":n,"bytes":n}` after each round.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import { storyOf } from '@ensemble/shared';
import { connectHostile, craft, deleteSetUpdate, updateFrame, type HostilePeer } from '../test/helpers/hostile';

const [syncUrl, roomId, token, victimArg] = process.argv.slice(2) as [string, string, string, string];
const victim = Number(victimArg);

const base = new Y.Doc();
const nesting = craft(base, (doc) =>
  doc.transact(() => {
    let parent: Y.XmlFragment | Y.XmlElement = storyOf(doc);
    for (let i = 0; i < 20_000; i++) {
      const el = new Y.XmlElement('div');
      parent.insert(0, [el]);
      parent = el;
    }
  }),
).update;
const ghost = craft(base, (doc) => doc.getText('junk').insert(0, 'x'.repeat(100_000)));
const orphan = craft(ghost.doc, (doc) => doc.getText('junk').insert(5, 'y'.repeat(200_000))).update;
const awarenessDoc = new Y.Doc();
const scratch = new awarenessProtocol.Awareness(awarenessDoc);
scratch.setLocalState({ user: { name: 'Ensemble AI', color: '#000' }, junk: 'z'.repeat(900_000) });
const awarenessFrame = (() => {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 1);
  encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(scratch, [scratch.clientID]));
  return encoding.toUint8Array(enc);
})();
const frames = [
  updateFrame(nesting), // ~400 KB, 20,000 nested elements
  ...Array.from({ length: 3 }, () => updateFrame(deleteSetUpdate(Array.from({ length: 100_000 }, (_, i) => ({ client: 1_000_000 + i, clock: i, len: 1 }))))),
  updateFrame(deleteSetUpdate([{ client: victim, clock: 0, len: 2 ** 31 }])), // mute the writer
  updateFrame(orphan), // missing dependencies
  awarenessFrame, // 900 KB state posing as the AI
];

let peer: HostilePeer | null = null;
let rounds = 0;
let bytes = 0;
for (;;) {
  for (const frame of frames) {
    if (!peer || peer.socket.readyState !== 1) peer = await connectHostile(syncUrl, roomId, token).catch(() => null);
    if (!peer) break;
    peer.sendRaw(frame);
    bytes += frame.byteLength;
  }
  rounds++;
  console.log(JSON.stringify({ rounds, bytes }));
  await new Promise((r) => setTimeout(r, 50));
}
