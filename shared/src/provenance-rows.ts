import type { ProvenanceReport } from './collab';

/** One row of the owner's "who wrote what" table. */
export interface ProvenanceRow {
  memberId: string;
  displayName: string;
  kind: 'human' | 'agent' | 'unknown';
  /** Characters this author wrote that are still in the document. */
  chars: number;
  /** Share of the whole story, 0–1. */
  share: number;
  /** AI-marked characters this member accepted, still in the document (humans). */
  aiAccepted: number;
  /** Of the text this member brought in (own + accepted AI), the AI part, 0–1. */
  aiShare: number;
  /** Characters this member typed inside AI text. */
  aiEdited: number;
  /** AI text requests / image requests / accepted. */
  requests: { text: number; image: number; accepted: number };
}

/** Flattens the provenance report into per-author rows: humans by characters, then the agent. */
export function provenanceRows(report: ProvenanceReport): ProvenanceRow[] {
  const rows = new Map<string, ProvenanceRow>();
  const row = (memberId: string, displayName: string, kind: ProvenanceRow['kind']): ProvenanceRow => {
    let r = rows.get(memberId);
    if (!r) {
      r = { memberId, displayName, kind, chars: 0, share: 0, aiAccepted: 0, aiShare: 0, aiEdited: 0, requests: { text: 0, image: 0, accepted: 0 } };
      rows.set(memberId, r);
    }
    return r;
  };
  for (const a of report.authors) row(a.memberId, a.displayName, a.kind).chars += a.chars;
  for (const a of report.ai.acceptedBy) row(a.memberId, a.displayName, 'human').aiAccepted += a.chars;
  for (const a of report.ai.edited.byMember) row(a.memberId, a.displayName, 'human').aiEdited += a.charsInside;
  for (const q of report.requests) {
    const r = row(q.memberId, q.displayName, 'human');
    r.requests = { text: r.requests.text + q.text, image: r.requests.image + q.image, accepted: r.requests.accepted + q.accepted };
  }
  const total = report.totalChars;
  for (const r of rows.values()) {
    r.share = total > 0 ? r.chars / total : 0;
    const brought = r.chars + r.aiAccepted;
    r.aiShare = brought > 0 ? r.aiAccepted / brought : 0;
  }
  const rank = (k: ProvenanceRow['kind']): number => (k === 'human' ? 0 : k === 'unknown' ? 1 : 2);
  return [...rows.values()].sort((a, b) => rank(a.kind) - rank(b.kind) || b.chars - a.chars || a.displayName.localeCompare(b.displayName));
}
