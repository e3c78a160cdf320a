import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../server/src/sync/connection';

const LIMIT = 1000;

/** A socket that never flushes by itself: `flush()` writes the oldest queued frame. */
function fakeSocket() {
  const pending: Array<{ bytes: number; cb: (err?: Error) => void }> = [];
  const socket = {
    readyState: 1,
    terminated: false,
    get bufferedAmount() {
      return pending.reduce((sum, p) => sum + p.bytes, 0);
    },
    send(message: Uint8Array, cb: (err?: Error) => void) {
      pending.push({ bytes: message.byteLength, cb });
    },
    terminate() {
      socket.terminated = true;
      socket.readyState = 3;
    },
    close() {},
    flush() {
      pending.shift()?.cb();
    },
  };
  return socket;
}

function connection() {
  const socket = fakeSocket();
  let slow = 0;
  const conn = new Connection(socket as unknown as WebSocket, 'room-0001', { roomId: 'room-0001', memberId: 'm', displayName: 'M', role: 'editor' }, () => {}, {
    maxBufferedBytes: LIMIT,
    onSlowConsumer: () => slow++,
  });
  return { socket, conn, slow: () => slow };
}

const frame = (bytes: number) => new Uint8Array(bytes);

describe('Connection.send and a client that does not read', () => {
  it('queues up to the limit, then terminates instead of queueing more', () => {
    const { socket, conn, slow } = connection();
    for (let i = 0; i < 10; i++) conn.send(frame(100)); // 1000 bytes: at the limit
    conn.send(frame(100)); // 1000 waiting: not over it yet
    expect(socket.terminated).toBe(false);
    conn.send(frame(100)); // 1100 waiting
    expect(socket.terminated).toBe(true);
    expect(conn.closed).toBe(true);
    expect(socket.bufferedAmount).toBe(1100);
    conn.send(frame(100));
    expect(socket.bufferedAmount).toBe(1100);
    expect(slow()).toBe(1);
  });

  it('lets one frame over the limit (a large document) through, and keeps the limit for the rest', () => {
    const { socket, conn } = connection();
    conn.send(frame(5000)); // a big sync step 2
    for (let i = 0; i < 9; i++) conn.send(frame(100)); // awareness meanwhile
    expect(socket.terminated).toBe(false);
    socket.flush(); // the big one is written: a reading client catches up
    for (let i = 0; i < 9; i++) socket.flush();
    conn.send(frame(100));
    expect(socket.terminated).toBe(false);

    // A client that never reads gets one big frame, and a second, but no more.
    conn.send(frame(5000));
    conn.send(frame(5000));
    expect(socket.terminated).toBe(false);
    conn.send(frame(100));
    expect(socket.terminated).toBe(true);
    expect(socket.bufferedAmount).toBeLessThanOrEqual(2 * 5000 + LIMIT + 100);
  });

  it('a client that keeps reading is never dropped', () => {
    const { socket, conn } = connection();
    for (let i = 0; i < 10_000; i++) {
      conn.send(frame(300));
      if (i % 2) socket.flush();
      if (socket.bufferedAmount > 600) socket.flush();
    }
    expect(socket.terminated).toBe(false);
  });
});
