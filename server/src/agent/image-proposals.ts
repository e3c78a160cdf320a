import { randomInt } from 'node:crypto';
import { imageUrl, panelsOf, type ImageAlternative, type ProposalInfo } from '@ensemble/shared';
import type { Inference } from '../inference';
import type { Admission } from './admission';
import { AgentError } from './errors';
import type { LiveProposals } from './live-proposals';
import { mapError } from './proposal-service';
import type { AgentRecords } from './records';
import { newId } from '../ids';
import { type Actor, type ImageProposal, type RoomScope } from './types';

/** A storyboard room's image proposals: draws them for a panel, stores them, sets the accepted one. */
export class ImageProposals {
  constructor(
    private readonly scope: RoomScope,
    private readonly live: LiveProposals,
    private readonly admission: Admission,
    private readonly records: AgentRecords,
  ) {}

  async request(actor: Actor, panelId: string, prompt: string | undefined, count: number, active: number): Promise<ProposalInfo> {
    const { deps } = this.scope;
    const engine = deps.engine;
    await this.admission.admit(actor, 0, active);
    if (!engine) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const caption = await this.scope.withDoc((room) => {
      const panel = panelsOf(room.doc).toArray().find((m) => m.get('id') === panelId);
      if (!panel) throw new AgentError('not_found', `no panel ${panelId} in this storyboard`);
      return String(panel.get('caption') ?? '');
    });
    const text = (prompt ?? caption).trim();
    if (!text) throw new AgentError('invalid_payload', 'the panel has no caption; send a prompt');
    const info: ProposalInfo = {
      id: newId(),
      kind: 'image',
      requestedBy: { memberId: actor.memberId, displayName: actor.displayName },
      mode: 'image',
      panelId,
      alternatives: count,
      firstAlternative: 0,
      model: deps.imageModel,
      createdAt: new Date().toISOString(),
      status: 'streaming',
    };
    if (prompt) info.instruction = prompt;
    const p: ImageProposal = { kind: 'image', info, panelId, prompt: text, images: [] };
    this.live.add(p);
    await this.admission.spend(actor.memberId);
    this.scope.emit('proposal:started', { ...info });
    this.scope.updatePresence();
    void this.generate(engine, p, count);
    return { ...info };
  }

  private async generate(engine: Inference, p: ImageProposal, count: number): Promise<void> {
    const { roomId } = this.scope;
    try {
      const base = randomInt(1, 2 ** 31 - 1 - count);
      const images = await Promise.all(Array.from({ length: count }, (_, k) => engine.generateImage({ prompt: p.prompt, seed: base + k })));
      const createdAt = new Date().toISOString();
      const alts: ImageAlternative[] = [];
      for (const [k, data] of images.entries()) {
        const imageId = newId();
        await this.records.putImage({ id: imageId, mime: 'image/png', data, createdAt, proposalId: p.info.id });
        alts.push({ alternative: k, imageId, url: imageUrl(roomId, imageId) });
      }
      p.images = alts;
      p.info.status = 'ready';
      this.scope.emit('image:proposed', { proposalId: p.info.id, panelId: p.panelId, images: alts });
    } catch (err) {
      const e = mapError(err);
      p.info.status = 'failed';
      this.scope.deps.ctx.logger.warn({ err, roomId }, 'image generation failed');
      this.scope.emit('proposal:failed', { proposalId: p.info.id, code: e.code, message: e.code === 'internal' ? 'image generation failed' : e.message });
    } finally {
      this.scope.updatePresence();
      await this.records.save(p);
    }
  }

  async accept(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    this.admission.requireEditor(actor, 'only editors and owners can accept images');
    const p = this.live.image(proposalId);
    if (p.info.status === 'streaming') throw new AgentError('conflict', 'the images are still being drawn');
    const img = p.images[alternative];
    if (!img) throw new AgentError('not_found', `proposal has no image ${alternative}`);
    await this.admission.requireAiOn('AI images');
    await this.scope.withDoc((room) =>
      this.scope.writeAsAgent(room, (doc) => {
        const panel = panelsOf(doc).toArray().find((m) => m.get('id') === p.panelId);
        if (!panel) throw new AgentError('not_found', 'the panel was deleted');
        panel.set('imageId', img.imageId);
      }),
    );
    p.acceptedAlternative = alternative;
    p.acceptedBy = actor.memberId;
    p.info.status = 'accepted';
    this.scope.emit('image:accepted', { proposalId, panelId: p.panelId, imageId: img.imageId, acceptedBy: actor.memberId });
    await this.records.save(p);
  }

  /** Rejects one image or (without `alternative`) the proposal. The caller checked the role. */
  async reject(actor: Actor, p: ImageProposal, alternative?: number): Promise<void> {
    const proposalId = p.info.id;
    if (alternative === undefined) p.info.status = 'rejected';
    this.scope.emit('proposal:rejected', alternative === undefined ? { proposalId, rejectedBy: actor.memberId } : { proposalId, alternative, rejectedBy: actor.memberId });
    await this.records.save(p);
  }
}
