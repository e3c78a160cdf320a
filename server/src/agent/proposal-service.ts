import type { ProposalDone } from '@ensemble/shared';
import type { ChatMessage, GenerateRequest, Inference } from '../inference';
import { AgentError, inferenceErrorCode } from './errors';
import { InstructOutputStream, type CleanContext } from './instruct-output';
import { ModeratedStream, type Moderation } from './moderation';

export interface GenerationParams {
  model?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  deadlineMs: number;
  stop: string[];
  /** The small built-in model often ends a story at once; no alternative should come back empty (EOS also waits for visible text). */
  minTokens: number;
  /**
   * Most tokens of an instruct model's reply (default max(96, 2 × maxTokens)): a chat model may
   * spend some on a preamble that is cleaned away, and it ends its turn with its own stop ids.
   */
  instructMaxTokens?: number;
}

/** What one alternative is generated from: a completion prompt, or (instruct models) messages and how to clean the reply. */
export interface ProposalInput {
  prompt: string;
  messages?: ChatMessage[];
  clean?: CleanContext;
}

export const DEFAULT_GENERATION: GenerationParams = {
  maxTokens: 48,
  temperature: 0.9,
  topK: 50,
  topP: 0.95,
  repetitionPenalty: 1.15,
  deadlineMs: 60_000,
  stop: ['\n\n'],
  minTokens: 8,
};

export interface AlternativeCallbacks {
  /** A released piece of text (already moderated), in order. */
  onDelta(text: string): void;
  onDone(done: Omit<ProposalDone, 'proposalId' | 'alternative'>): void;
  onFailed(err: AgentError): void;
}

/**
 * Streams one alternative of a continuation through the inference engine: releases text through
 * the moderation filter (when the room has it on), maps the engine's outcome onto the protocol
 * (`aborted` → 'stopped', `deadline` → 'length' with what was produced), and turns engine errors
 * into protocol codes (busy → 'busy', others → 'internal').
 */
export class ProposalService {
  constructor(
    private readonly engine: Pick<Inference, 'generate'>,
    private readonly params: GenerationParams = DEFAULT_GENERATION,
  ) {}

  async run(input: string | ProposalInput, roomId: string, seed: number, signal: AbortSignal, moderation: Moderation | null, cb: AlternativeCallbacks): Promise<void> {
    const { prompt, messages, clean } = typeof input === 'string' ? { prompt: input } : input;
    const req: GenerateRequest = {
      prompt,
      roomId,
      maxTokens: this.params.maxTokens,
      temperature: this.params.temperature,
      topK: this.params.topK,
      topP: this.params.topP,
      repetitionPenalty: this.params.repetitionPenalty,
      seed,
      stop: this.params.stop,
      minTokens: this.params.minTokens,
      signal,
      deadlineMs: this.params.deadlineMs,
    };
    if (this.params.model) req.model = this.params.model;
    if (messages) {
      // A chat model ends its turn itself; "\n\n" would cut it after a preamble or a first paragraph.
      req.messages = messages;
      req.stop = [];
      req.maxTokens = this.params.instructMaxTokens ?? Math.max(96, 2 * this.params.maxTokens);
    }
    const filter = new ModeratedStream(moderation);
    // Instruct replies go through the cleaner (only the new text) before moderation sees them.
    const cleaner = messages ? new InstructOutputStream(clean ?? { mode: 'continue', before: '' }) : null;
    const push = (text: string): ReturnType<ModeratedStream['push']> => filter.push(cleaner ? cleaner.push(text) : text);
    const finishText = (): ReturnType<ModeratedStream['finish']> => {
      if (cleaner) {
        const last = filter.push(cleaner.finish());
        if ('blocked' in last) return last;
        const rest = filter.finish();
        return 'blocked' in rest ? rest : { release: (last.release ?? '') + (rest.release ?? '') };
      }
      return filter.finish();
    };
    let stream;
    try {
      stream = this.engine.generate(req);
    } catch (err) {
      cb.onFailed(mapError(err));
      return;
    }
    // The stream's result promise may reject too; never leave it unhandled.
    stream.result.catch(() => undefined);
    try {
      for await (const chunk of stream) {
        if (!chunk.text) continue;
        const out = push(chunk.text);
        if ('blocked' in out) {
          stream.abort();
          cb.onDone({ text: '', finishReason: 'filtered', reason: out.blocked });
          return;
        }
        if (out.release) cb.onDelta(out.release);
      }
      const result = await stream.result;
      const rest = finishText();
      if ('blocked' in rest) {
        cb.onDone({ text: '', finishReason: 'filtered', reason: rest.blocked });
        return;
      }
      if (rest.release) cb.onDelta(rest.release);
      const finishReason: ProposalDone['finishReason'] = result.finishReason === 'aborted' ? 'stopped' : result.finishReason === 'deadline' ? 'length' : result.finishReason;
      cb.onDone({ text: filter.fullText, finishReason });
    } catch (err) {
      const code = inferenceErrorCode(err);
      // Cut short (stopped, or out of time): what was released so far is the alternative.
      const cutShort: ProposalDone['finishReason'] | null = code === 'aborted' || signal.aborted ? 'stopped' : code === 'deadline' ? 'length' : null;
      if (cutShort) {
        const rest = finishText();
        if ('blocked' in rest) cb.onDone({ text: '', finishReason: 'filtered', reason: rest.blocked });
        else {
          if (rest.release) cb.onDelta(rest.release);
          cb.onDone({ text: filter.fullText, finishReason: cutShort });
        }
        return;
      }
      cb.onFailed(mapError(err));
    }
  }
}

export function mapError(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  const code = inferenceErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'busy':
      return new AgentError('busy', 'the model is busy; try again in a moment');
    case 'unknown_model':
      return new AgentError('internal', `model unavailable: ${message}`);
    case 'empty_prompt':
      return new AgentError('invalid_payload', 'nothing to continue from');
    // The detail (which engine, what it said) is for the server's log, not for every member.
    case 'unavailable':
      return new AgentError('internal', 'the AI engine stopped answering; try again');
    case 'bad_response':
      return new AgentError('internal', 'the AI engine sent an answer Ensemble cannot read');
    case 'deadline':
      return new AgentError('internal', 'the AI engine did not answer in time');
    default:
      return new AgentError('internal', 'generation failed');
  }
}
