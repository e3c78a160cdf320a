import { KeyedCounter } from '../limits/keyed-counter';

/** A held socket slot; release it exactly once when the socket is gone (extra calls are ignored). */
export type SocketSlot = () => void;

/**
 * Caps concurrent sockets per member and per remote address, so one token (or one host) cannot
 * exhaust the server's file descriptors and memory. One instance per endpoint (/sync, /collab).
 */
export class SocketLimiter {
  private readonly byMember = new KeyedCounter();
  private readonly byAddress = new KeyedCounter();

  constructor(
    private readonly perMember: number,
    private readonly perAddress: number,
  ) {}

  /** Takes a slot for the member (`roomId:memberId`) and address, or says which limit is reached. */
  acquire(memberKey: string, address: string): { slot: SocketSlot } | { refused: string } {
    if (this.byMember.get(memberKey) >= this.perMember) {
      return { refused: `too many open connections for this member (at most ${this.perMember}); close another tab first` };
    }
    if (this.byAddress.get(address) >= this.perAddress) {
      return { refused: `too many open connections from this address (at most ${this.perAddress})` };
    }
    this.byMember.increment(memberKey);
    this.byAddress.increment(address);
    let released = false;
    return {
      slot: () => {
        if (released) return;
        released = true;
        this.byMember.decrement(memberKey);
        this.byAddress.decrement(address);
      },
    };
  }
}
