import type { AgentState } from '@ensemble/shared';
import { AgentError } from './errors';
import type { ImageProposal, Proposal, TextProposal } from './types';

/** A room's proposals in memory (text and image), the newest `maxKept` finished ones kept. */
export class LiveProposals {
  private readonly byId = new Map<string, Proposal>();

  constructor(private readonly maxKept: number) {}

  add(p: Proposal): void {
    this.byId.set(p.info.id, p);
    this.prune();
  }

  values(): IterableIterator<Proposal> {
    return this.byId.values();
  }

  has(proposalId: string): boolean {
    return this.byId.has(proposalId);
  }

  get(proposalId: string): Proposal {
    const p = this.byId.get(proposalId);
    if (!p) throw new AgentError('not_found', `no live proposal ${proposalId} in this room`);
    return p;
  }

  text(proposalId: string): TextProposal {
    const p = this.get(proposalId);
    if (p.kind !== 'text') throw new AgentError('invalid_payload', 'this is an image proposal; use image:accept');
    return p;
  }

  image(proposalId: string): ImageProposal {
    const p = this.get(proposalId);
    if (p.kind !== 'image') throw new AgentError('invalid_payload', 'this is a text proposal; use proposal:accept');
    return p;
  }

  /** Stops every running text generation. */
  abortAll(): void {
    for (const p of this.byId.values()) {
      if (p.kind !== 'text') continue;
      for (const a of p.alts) if (!a.done) a.controller.abort();
    }
  }

  /** The agent's presence state: writing (some alternative has text), thinking, or idle. */
  state(): AgentState {
    let thinking = false;
    for (const p of this.byId.values()) {
      if (p.kind === 'text') {
        for (const a of p.alts) if (!a.done) {
          if (a.seq > 0) return 'writing';
          thinking = true;
        }
      } else if (p.info.status === 'streaming') thinking = true;
    }
    return thinking ? 'thinking' : 'idle';
  }

  private prune(): void {
    if (this.byId.size <= this.maxKept) return;
    for (const [id, p] of this.byId) {
      if (this.byId.size <= this.maxKept) break;
      const live = p.kind === 'text' ? p.alts.some((a) => !a.done) : p.info.status === 'streaming';
      if (!live) this.byId.delete(id);
    }
  }
}
