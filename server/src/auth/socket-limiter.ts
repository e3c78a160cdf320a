/** A held socket slot; release it exactly once when the socket is gone (extra calls are ignored). */
export type SocketSlot = () => void;

/**
 * Caps concurrent sockets per member and per remote address, so one token (or one host) cannot
 * exhaust the server's file descriptors and memory. One instance per endpoint (/sync, /collab).
 */
export class SocketLimiter {
  private readonly byMember = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly perMember: number,
    private readonly perAddress: number,
  ) {}

  /** Takes a slot for the member (`roomId:memberId`) and address, or says which limit is reached. */
  acquire(memberKey: string, address: string): { slot: SocketSlot } | { refused: string } {
    if ((this.byMember.get(memberKey) ?? 0) >= this.perMember) {
      return { refused: `too many open connections for this member (at most ${this.perMember}); close another tab first` };
    }
    if ((this.byAddress.get(address) ?? 0) >= this.perAddress) {
      return { refused: `too many open connections from this address (at most ${this.perAddress})` };
    }
    increment(this.byMember, memberKey);
    increment(this.byAddress, address);
    let released = false;
    return {
      slot: () => {
        if (released) return;
        released = true;
        decrement(this.byMember, memberKey);
        decrement(this.byAddress, address);
      },
    };
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
