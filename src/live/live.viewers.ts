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
  /** Highest concurrent count seen per stream, so a short-lived peak between sweeps is not lost. */
  private readonly peaks = new Map<string, number>();

  constructor(private readonly pollTtlMs: number) {}

  private entry(streamId: string, viewerId: string): { e: Entry; fresh: boolean } {
    let viewers = this.streams.get(streamId);
    if (!viewers) this.streams.set(streamId, (viewers = new Map()));
    let e = viewers.get(viewerId);
    const fresh = !e;
    if (!e) viewers.set(viewerId, (e = { pollUntil: 0, sockets: 0 }));
    return { e, fresh };
  }

  /** A playlist request by this viewer: counted for the next pollTtlMs. */
  polled(streamId: string, viewerId: string, now = Date.now()): void {
    const { e, fresh } = this.entry(streamId, viewerId);
    e.pollUntil = now + this.pollTtlMs;
    // Only a new viewer can raise the peak; repeat polls stay O(1).
    if (fresh) this.count(streamId, now);
  }

  joined(streamId: string, viewerId: string): void {
    this.entry(streamId, viewerId).e.sockets += 1;
    this.count(streamId);
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
      this.peaks.set(streamId, Math.max(this.peaks.get(streamId) ?? 0, viewers.size));
      if (viewers.size === 0) this.streams.delete(streamId);
    }
    return counts;
  }

  count(streamId: string, now = Date.now()): number {
    let n = 0;
    for (const e of this.streams.get(streamId)?.values() ?? []) if (e.sockets > 0 || e.pollUntil > now) n++;
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
