import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERROR_CODES, MemberId, Role, RoomId } from '@ensemble/shared';
import type { AgentCommandOutcome, AgentCommandRelay, ForwardedAgentCommand } from '../ports';

const Command = z.object({
  roomId: RoomId,
  event: z.string().min(1).max(64),
  actor: z.object({ memberId: MemberId, displayName: z.string().max(200), role: Role }),
  payload: z.unknown(),
});
const Outcome = z.union([
  z.object({ ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.object({ ok: z.literal(false), code: z.enum(ERROR_CODES), message: z.string(), notOwner: z.boolean().optional() }),
]);
const Message = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('request'), id: z.string().min(1), from: z.string().min(1), command: Command }),
  z.object({ kind: z.literal('reply'), id: z.string().min(1), outcome: Outcome }),
]);
type Message = z.infer<typeof Message>;

/**
 * Agent commands between processes as request/reply over Redis pub/sub: one channel per process
 * (`<prefix>agent-rpc:<processId>`), the request names the sender's channel for the reply. Direct
 * to the owner, unlike socket.io's serverSideEmit, which goes to every process and waits for all of
 * their acks (a dead one makes every call wait for the timeout). PUBLISH's receiver count says at
 * once when the owner is gone (0): the caller retries with the next owner.
 */
export class RedisAgentRelay implements AgentCommandRelay {
  private readonly pending = new Map<string, { resolve(o: AgentCommandOutcome): void; timer: NodeJS.Timeout }>();
  private handler: ((command: ForwardedAgentCommand) => Promise<AgentCommandOutcome>) | null = null;

  constructor(
    private readonly options: { publisher: Redis; subscriber: Redis; prefix: string; processId: string; timeoutMs: number; logger: Logger },
  ) {}

  async start(): Promise<void> {
    const own = this.channel(this.options.processId);
    this.options.subscriber.on('message', (from: string, message: string) => {
      if (from === own) this.receive(message);
    });
    await this.options.subscriber.subscribe(own);
  }

  stop(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, code: 'busy', message: 'this process is shutting down', notOwner: true });
      this.pending.delete(id);
    }
  }

  serve(handler: (command: ForwardedAgentCommand) => Promise<AgentCommandOutcome>): void {
    this.handler = handler;
  }

  async send(to: string, command: ForwardedAgentCommand): Promise<AgentCommandOutcome> {
    const id = randomUUID();
    const answered = new Promise<AgentCommandOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`process ${to} did not answer ${command.event} within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve, timer });
    });
    let receivers: number;
    try {
      receivers = await this.publish(to, { kind: 'request', id, from: this.options.processId, command });
    } catch (err) {
      clearTimeout(this.pending.get(id)?.timer);
      this.pending.delete(id);
      throw err;
    }
    if (receivers === 0) {
      this.settle(id, { ok: false, code: 'busy', message: 'the process running the room\'s AI is gone', notOwner: true });
    }
    return answered;
  }

  private publish(to: string, message: Message): Promise<number> {
    return this.options.publisher.publish(this.channel(to), JSON.stringify(message));
  }

  private settle(id: string, outcome: AgentCommandOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(outcome);
  }

  private receive(raw: string): void {
    let message: Message;
    try {
      message = Message.parse(JSON.parse(raw));
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'ignoring a malformed agent command message');
      return;
    }
    if (message.kind === 'reply') return this.settle(message.id, message.outcome);
    const handler = this.handler;
    const answer = handler
      ? handler(message.command).catch((err: unknown): AgentCommandOutcome => {
          this.options.logger.error({ err, event: message.command.event }, 'forwarded agent command failed');
          return { ok: false, code: 'internal', message: 'internal error' };
        })
      : Promise.resolve<AgentCommandOutcome>({ ok: false, code: 'busy', message: 'the AI collaborator is not running here', notOwner: true });
    void answer.then((outcome) =>
      this.publish(message.from, { kind: 'reply', id: message.id, outcome }).catch((err: unknown) =>
        this.options.logger.warn({ err: (err as Error).message }, 'answering a forwarded agent command failed'),
      ),
    );
  }

  private channel(processId: string): string {
    return `${this.options.prefix}agent-rpc:${processId}`;
  }
}
