import * as Y from 'yjs';
import { AI_MARK, authorsOf, storyOf, type AiMarkAttrs, type AuthorEntry, type ProvenanceReport } from '@ensemble/shared';
import type { ProposalRecord } from '../storage/store';

/**
 * Who wrote what, computed from the Yjs document itself (so it survives reloads):
 *
 * - Characters per author: every visible (not deleted) string item of every Y.XmlText in the
 *   `story` fragment counts `item.length` characters for `item.id.client`, mapped to a member
 *   through the document's `authors` map (client id → { memberId, displayName, kind }); client ids
 *   missing from the map are reported as kind 'unknown'. Several client ids of one member (one per
 *   browser session) are summed.
 * - AI text: visible characters whose formatting carries the AI mark (`aiAuthored`) naming a
 *   proposal the server recorded as accepted, grouped by proposal and by the member who accepted
 *   it. The mark is only a pointer: model and acceptor come from the stored proposal, because any
 *   editor can write format attributes (a mark naming no accepted proposal is ignored), while
 *   `authors` and the proposal records are written by the server alone.
 * - AI text later edited by humans, precisely:
 *     humanCharsInside   visible characters written by a human client that carry the AI mark,
 *                        i.e. were typed inside an AI-marked run (the editor extends the mark);
 *     agentCharsDeleted  characters the agent inserted (stored text of the accepted proposals, as
 *                        inserted, without newlines) that are no longer visible: deleted
 *                        (garbage-collected deleted text leaves no per-character trace in Yjs);
 *     agentCharsUnmarked visible agent-written characters that no longer carry the AI mark
 *                        (someone removed the mark).
 *   Text a human types right after (outside) an AI run is their own writing, not an edit.
 * - Requests per member: from the stored proposals (kind text / image; accepted ones).
 */
export function computeProvenance(roomId: string, doc: Y.Doc, proposals: ProposalRecord[], memberNames: Map<string, string> = new Map()): ProvenanceReport {
  const authors = authorsOf(doc);
  const accepted = new Map<string, ProposalRecord>();
  for (const p of proposals) if (p.kind === 'text' && p.acceptedAlternative !== undefined && p.acceptedAlternative !== null) accepted.set(p.id, p);
  const entryOf = (client: number): AuthorEntry | undefined => authors.get(String(client));
  const perClient = new Map<number, number>();
  const perProposal = new Map<string, { model: string; acceptedBy: string; agentChars: number; humanCharsInside: number }>();
  const acceptedBy = new Map<string, { chars: number; proposals: Set<string> }>();
  const insideBy = new Map<string, number>();
  let markedChars = 0;
  let humanCharsInside = 0;
  let agentVisible = 0;
  let agentCharsUnmarked = 0;
  let totalChars = 0;

  const visitText = (text: Y.XmlText): void => {
    const attrs = new Map<string, unknown>();
    for (let item = text._start; item !== null; item = item.right) {
      const content = item.content;
      if (content instanceof Y.ContentFormat) {
        if (!item.deleted) {
          if (content.value === null) attrs.delete(content.key);
          else attrs.set(content.key, content.value);
        }
        continue;
      }
      if (item.deleted || !(content instanceof Y.ContentString)) continue;
      const entry = entryOf(item.id.client);
      const isAgent = entry?.kind === 'agent';
      if (isAgent) agentVisible += item.length;
      totalChars += item.length;
      perClient.set(item.id.client, (perClient.get(item.id.client) ?? 0) + item.length);
      const mark = attrs.get(AI_MARK) as Partial<AiMarkAttrs> | undefined;
      const record = mark && typeof mark === 'object' && typeof mark.proposalId === 'string' ? accepted.get(mark.proposalId) : undefined;
      if (record) {
        markedChars += item.length;
        const p = perProposal.get(record.id) ?? { model: record.model, acceptedBy: record.acceptedBy ?? '', agentChars: 0, humanCharsInside: 0 };
        perProposal.set(record.id, p);
        const a = acceptedBy.get(p.acceptedBy) ?? { chars: 0, proposals: new Set<string>() };
        a.chars += item.length;
        a.proposals.add(record.id);
        acceptedBy.set(p.acceptedBy, a);
        if (isAgent) p.agentChars += item.length;
        else {
          p.humanCharsInside += item.length;
          humanCharsInside += item.length;
          const who = entry?.memberId ?? `client:${item.id.client}`;
          insideBy.set(who, (insideBy.get(who) ?? 0) + item.length);
        }
      } else if (isAgent) {
        agentCharsUnmarked += item.length;
      }
    }
  };
  const walk = (node: Y.XmlFragment | Y.XmlElement): void => {
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlText) visitText(child);
      else if (child instanceof Y.XmlElement) walk(child);
    }
  };
  walk(storyOf(doc));
  // Deleted text leaves no reliable trace in Yjs after garbage collection and reloads, so the
  // agent's deleted characters are what it inserted (the stored text of each accepted proposal, as
  // inserted) minus what of it is still visible.
  let agentInserted = 0;
  // A reverted accept took its own text out: that is not AI text edited away by people.
  for (const p of accepted.values()) if (!p.revertedBy) agentInserted += (p.alternatives[p.acceptedAlternative!] ?? '').replace(/\n/g, '').length;
  const agentCharsDeleted = Math.max(0, agentInserted - agentVisible);

  const nameOf = (memberId: string): string => memberNames.get(memberId) ?? memberId;
  const byMember = new Map<string, ProvenanceReport['authors'][number]>();
  for (const [client, chars] of perClient) {
    const e = entryOf(client);
    const key = e ? `${e.kind}:${e.memberId}` : `unknown:${client}`;
    const row = byMember.get(key) ?? {
      memberId: e?.memberId ?? `client:${client}`,
      displayName: e?.displayName ?? 'unknown',
      kind: e?.kind ?? 'unknown',
      clientIds: [],
      chars: 0,
    };
    row.clientIds.push(client);
    row.chars += chars;
    byMember.set(key, row);
  }
  // Members who have a client id in the authors map but no text left are listed with 0.
  authors.forEach((e, client) => {
    const key = `${e.kind}:${e.memberId}`;
    if (!byMember.has(key)) byMember.set(key, { memberId: e.memberId, displayName: e.displayName, kind: e.kind, clientIds: [Number(client)], chars: 0 });
  });

  const requests = new Map<string, { text: number; image: number; accepted: number }>();
  for (const p of proposals) {
    const r = requests.get(p.requestedBy) ?? { text: 0, image: 0, accepted: 0 };
    if (p.kind === 'image') r.image++;
    else r.text++;
    if (p.acceptedAlternative !== undefined && p.acceptedAlternative !== null) r.accepted++;
    requests.set(p.requestedBy, r);
  }

  return {
    roomId,
    authors: [...byMember.values()].sort((a, b) => b.chars - a.chars),
    totalChars,
    ai: {
      markedChars,
      acceptedBy: [...acceptedBy].map(([memberId, a]) => ({ memberId, displayName: nameOf(memberId), chars: a.chars, proposals: a.proposals.size })),
      proposals: [...perProposal].map(([proposalId, p]) => ({ proposalId, ...p })),
      edited: {
        humanCharsInside,
        agentCharsDeleted,
        agentCharsUnmarked,
        byMember: [...insideBy].map(([memberId, charsInside]) => ({ memberId, displayName: nameOf(memberId), charsInside })),
      },
      reverted: [...accepted.values()]
        .filter((p) => p.revertedBy)
        .map((p) => ({ proposalId: p.id, acceptedBy: p.acceptedBy ?? '', revertedBy: p.revertedBy!, revertedByName: nameOf(p.revertedBy!), ...(p.revertedAt ? { revertedAt: p.revertedAt } : {}) })),
    },
    requests: [...requests].map(([memberId, r]) => ({ memberId, displayName: nameOf(memberId), ...r })),
  };
}
