// Concurrent-viewer bookkeeping for live streams, in memory: a viewer is a playlist poller
// (expiring when it stops polling) or an open chat socket (counted until it leaves). One viewer
// id seen through both paths counts once.

interface Entry {
  /** Playlist polling keeps the viewer until this time (ms epoch); 0 when only chat holds it. */
  pollUntil: number;
  /** Open chat sockets of this viewer. */
  sockets: number;
}

export class ViewerTracker {
  private readonly streams = new Map<string, Map<string, Entry>>();

  constructor(private readonly pollTtlMs: number) {}

  private entry(streamId: string, viewerId: string): Entry {
    let viewers = this.streams.get(streamId);
    if (!viewers) this.streams.set(streamId, (viewers = new Map()));
    let e = viewers.get(viewerId);
    if (!e) viewers.set(viewerId, (e = { pollUntil: 0, sockets: 0 }));
    return e;
  }

  /** A playlist request by this viewer: counted for the next pollTtlMs. */
  polled(streamId: string, viewerId: string, now = Date.now()): void {
    this.entry(streamId, viewerId).pollUntil = now + this.pollTtlMs;
  }

  joined(streamId: string, viewerId: string): void {
    this.entry(streamId, viewerId).sockets += 1;
  }

  left(streamId: string, viewerId: string): void {
    const e = this.streams.get(streamId)?.get(viewerId);
    if (e) e.sockets = Math.max(0, e.sockets - 1);
  }

  /** Drops expired viewers and returns the count per stream that has any entries. */
  sweep(now = Date.now()): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [streamId, viewers] of this.streams) {
      for (const [id, e] of viewers) if (e.sockets === 0 && e.pollUntil <= now) viewers.delete(id);
      counts.set(streamId, viewers.size);
      if (viewers.size === 0) this.streams.delete(streamId);
    }
    return counts;
  }

  count(streamId: string, now = Date.now()): number {
    let n = 0;
    for (const e of this.streams.get(streamId)?.values() ?? []) if (e.sockets > 0 || e.pollUntil > now) n++;
    return n;
  }

  forget(streamId: string): void {
    this.streams.delete(streamId);
  }
}
