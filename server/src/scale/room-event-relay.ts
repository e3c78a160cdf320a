import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { MemberId, RoomId, RoomSettings } from '@ensemble/shared';
import type { RoomEventSource, RoomEvents } from '../ports';

/** What one process tells the others about a room (JSON on one pub/sub channel). */
const RelayedRoomEvent = z.discriminatedUnion('event', [
  z.object({ origin: z.string().min(1), event: z.literal('memberRemoved'), roomId: RoomId, memberId: MemberId }),
  z.object({ origin: z.string().min(1), event: z.literal('settingsChanged'), roomId: RoomId, settings: RoomSettings }),
]);
type RelayedRoomEvent = z.infer<typeof RelayedRoomEvent>;

/**
 * The room events of every process (a member removed, settings changed), for listeners in this
 * one: the local RoomService's, then relayed to the others over Redis pub/sub, and theirs, with
 * `relayed` true. Pub/sub, not a stream: an event only concerns the sockets and agents that exist
 * right now (a socket opened later checks the member row itself).
 */
export class RoomEventRelay implements RoomEventSource {
  private readonly events = new EventEmitter();
  private readonly offLocal: Array<() => void> = [];

  constructor(
    private readonly options: { local: RoomEventSource; publisher: Redis; subscriber: Redis; channel: string; processId: string; logger: Logger },
  ) {
    this.events.setMaxListeners(100);
  }

  async start(): Promise<void> {
    const { local, subscriber, channel } = this.options;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.receive(message);
    });
    await subscriber.subscribe(channel);
    const onMemberRemoved = (roomId: string, memberId: string) => {
      this.emit('memberRemoved', roomId, memberId, false);
      this.publish({ origin: this.options.processId, event: 'memberRemoved', roomId, memberId });
    };
    const onSettingsChanged = (roomId: string, settings: RoomSettings) => {
      this.emit('settingsChanged', roomId, settings, false);
      this.publish({ origin: this.options.processId, event: 'settingsChanged', roomId, settings });
    };
    local.on('memberRemoved', onMemberRemoved);
    local.on('settingsChanged', onSettingsChanged);
    this.offLocal.push(() => local.off('memberRemoved', onMemberRemoved), () => local.off('settingsChanged', onSettingsChanged));
  }

  stop(): void {
    for (const off of this.offLocal.splice(0)) off();
  }

  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void {
    this.events.on(event, listener);
  }

  off<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void {
    this.events.off(event, listener);
  }

  private publish(event: RelayedRoomEvent): void {
    this.options.publisher
      .publish(this.options.channel, JSON.stringify(event))
      .catch((err: unknown) => this.options.logger.error({ err, event: event.event, roomId: event.roomId }, 'relaying a room event failed; other processes miss it'));
  }

  private receive(message: string): void {
    let parsed: RelayedRoomEvent;
    try {
      parsed = RelayedRoomEvent.parse(JSON.parse(message));
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'ignoring a malformed relayed room event');
      return;
    }
    if (parsed.origin === this.options.processId) return;
    if (parsed.event === 'memberRemoved') this.emit('memberRemoved', parsed.roomId, parsed.memberId, true);
    else this.emit('settingsChanged', parsed.roomId, parsed.settings, true);
  }

  private emit(event: keyof RoomEvents, ...args: unknown[]): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.options.logger.error({ err, event }, 'room event listener threw');
    }
  }
}
