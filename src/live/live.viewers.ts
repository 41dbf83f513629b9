// Concurrent-viewer bookkeeping for live streams, in memory: a viewer is a playlist poller
// (expiring when it stops polling) or an open chat socket (counted until it leaves). One viewer
// id seen through both paths counts once. Viewer ids come from clients, so one client address
// counts as at most `maxPerAddress` viewers of a stream: a script inventing ids cannot inflate
// the count (or live trending) beyond that, while a household or an office behind one address
// still counts as several people.

interface Entry {
  /** Playlist polling keeps the viewer until this time (ms epoch); 0 when only chat holds it. */
  pollUntil: number;
  /** Open chat sockets of this viewer. */
  sockets: number;
  /** The client address that brought this viewer id, if known. */
  address: string | null;
}

interface StreamViewers {
  entries: Map<string, Entry>;
  /** Entries per client address. */
  perAddress: Map<string, number>;
}

export class ViewerTracker {
  private readonly streams = new Map<string, StreamViewers>();
  /** Highest concurrent count seen per stream, so a short-lived peak between sweeps is not lost. */
  private readonly peaks = new Map<string, number>();

  constructor(
    private readonly pollTtlMs: number,
    /** Viewers counted per client address and stream; 0: no limit. */
    private readonly maxPerAddress = 0,
  ) {}

  /** The viewer's entry, created if the address has room for another; null when it has not. */
  private entry(streamId: string, viewerId: string, address: string | null): { e: Entry; fresh: boolean } | null {
    let viewers = this.streams.get(streamId);
    if (!viewers) this.streams.set(streamId, (viewers = { entries: new Map(), perAddress: new Map() }));
    const e = viewers.entries.get(viewerId);
    if (e) return { e, fresh: false };
    if (address !== null) {
      const n = viewers.perAddress.get(address) ?? 0;
      if (this.maxPerAddress > 0 && n >= this.maxPerAddress) {
        if (viewers.entries.size === 0) this.streams.delete(streamId);
        return null;
      }
      viewers.perAddress.set(address, n + 1);
    }
    const fresh: Entry = { pollUntil: 0, sockets: 0, address };
    viewers.entries.set(viewerId, fresh);
    return { e: fresh, fresh: true };
  }

  private remove(viewers: StreamViewers, viewerId: string, e: Entry): void {
    viewers.entries.delete(viewerId);
    if (e.address === null) return;
    const n = (viewers.perAddress.get(e.address) ?? 1) - 1;
    if (n > 0) viewers.perAddress.set(e.address, n);
    else viewers.perAddress.delete(e.address);
  }

  /**
   * A playlist request by this viewer: counted for the next pollTtlMs. False when the request's
   * address already has as many viewers of the stream as it may (the request is not counted).
   */
  polled(streamId: string, viewerId: string, now = Date.now(), address: string | null = null): boolean {
    const got = this.entry(streamId, viewerId, address);
    if (!got) return false;
    got.e.pollUntil = now + this.pollTtlMs;
    // Only a new viewer can raise the peak; repeat polls stay O(1).
    if (got.fresh) this.count(streamId, now);
    return true;
  }

  /** A chat socket of this viewer opened; false (and not counted) when its address is at its limit. */
  joined(streamId: string, viewerId: string, address: string | null = null): boolean {
    const got = this.entry(streamId, viewerId, address);
    if (!got) return false;
    got.e.sockets += 1;
    this.count(streamId);
    return true;
  }

  left(streamId: string, viewerId: string): void {
    const e = this.streams.get(streamId)?.entries.get(viewerId);
    if (e) e.sockets = Math.max(0, e.sockets - 1);
  }

  /** Drops expired viewers and returns the count per stream that has any entries. */
  sweep(now = Date.now()): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [streamId, viewers] of this.streams) {
      for (const [id, e] of viewers.entries) if (e.sockets === 0 && e.pollUntil <= now) this.remove(viewers, id, e);
      const size = viewers.entries.size;
      counts.set(streamId, size);
      this.peaks.set(streamId, Math.max(this.peaks.get(streamId) ?? 0, size));
      if (size === 0) this.streams.delete(streamId);
    }
    return counts;
  }

  /** The stream's current viewers with when each expires (chat sockets: one TTL from now). */
  active(streamId: string, now = Date.now()): Array<[viewerId: string, expiresAt: number]> {
    const out: Array<[string, number]> = [];
    for (const [id, e] of this.streams.get(streamId)?.entries ?? []) {
      if (e.sockets > 0) out.push([id, Math.max(e.pollUntil, now + this.pollTtlMs)]);
      else if (e.pollUntil > now) out.push([id, e.pollUntil]);
    }
    return out;
  }

  count(streamId: string, now = Date.now()): number {
    let n = 0;
    for (const e of this.streams.get(streamId)?.entries.values() ?? []) if (e.sockets > 0 || e.pollUntil > now) n++;
    if (n > (this.peaks.get(streamId) ?? 0)) this.peaks.set(streamId, n);
    return n;
  }

  /** The highest count seen for the stream since it was last forgotten. */
  peak(streamId: string): number {
    return this.peaks.get(streamId) ?? 0;
  }

  forget(streamId: string): void {
    this.streams.delete(streamId);
    this.peaks.delete(streamId);
  }
}
