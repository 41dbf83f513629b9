// One watcher per video being followed, however many clients follow it: one progress-bus
// subscription and one database poll every few seconds (to catch a lost pub/sub message), fanned
// out to every listener. Each listener gets the latest snapshot at once, then only later ones.
import { compareProgress, isTerminal, type ProgressSnapshot } from './progress.bus.js';
import type { VideosService } from './videos.service.js';

const POLL_MS = 2000;

interface Listener {
  send(s: ProgressSnapshot): void;
  end(): void;
  last: ProgressSnapshot | null;
}

interface Watched {
  listeners: Set<Listener>;
  latest: ProgressSnapshot | null;
  timer: NodeJS.Timeout;
  unsubscribe(): void;
  polling: boolean;
}

export class ProgressWatch {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly videos: VideosService,
    private readonly pollMs = POLL_MS,
  ) {}

  /** Videos with a poller now (one each, whatever the number of listeners). */
  get pollers(): number {
    return this.watched.size;
  }

  /** Calls `send` for each newer snapshot and `end` after a terminal one; returns the stop function. */
  follow(videoId: string, send: (s: ProgressSnapshot) => void, end: () => void): () => void {
    let w = this.watched.get(videoId);
    if (!w) w = this.start(videoId);
    const listener: Listener = { send, end, last: null };
    w.listeners.add(listener);
    if (w.latest) this.deliver(w, listener, w.latest);
    return () => this.remove(videoId, listener);
  }

  private start(videoId: string): Watched {
    const w: Watched = {
      listeners: new Set(),
      latest: null,
      timer: setInterval(() => void this.poll(videoId, w), this.pollMs),
      unsubscribe: () => {},
      polling: false,
    };
    w.timer.unref();
    w.unsubscribe = this.videos.bus.subscribe(videoId, (s) => this.offer(videoId, w, s));
    this.watched.set(videoId, w);
    void this.poll(videoId, w);
    return w;
  }

  private async poll(videoId: string, w: Watched): Promise<void> {
    if (w.polling) return;
    w.polling = true;
    try {
      const v = await this.videos.repo.findById(videoId);
      if (!v) return this.finish(videoId, w);
      this.offer(videoId, w, await this.videos.snapshot(v));
    } catch {
      // The next poll or bus message catches up.
    } finally {
      w.polling = false;
    }
  }

  private offer(videoId: string, w: Watched, s: ProgressSnapshot): void {
    if (this.watched.get(videoId) !== w) return;
    if (!w.latest || compareProgress(s, w.latest) > 0 || (compareProgress(s, w.latest) === 0 && s.queue_position !== w.latest.queue_position)) w.latest = s;
    for (const l of [...w.listeners]) this.deliver(w, l, s);
    if (isTerminal(s)) this.finish(videoId, w);
  }

  private deliver(w: Watched, l: Listener, s: ProgressSnapshot): void {
    if (l.last) {
      const order = compareProgress(s, l.last);
      if (order < 0 || (order === 0 && s.queue_position === l.last.queue_position)) return;
    }
    l.last = s;
    l.send(s);
    if (isTerminal(s)) {
      w.listeners.delete(l);
      l.end();
    }
  }

  /** The video is gone or done: every listener ends and the poller stops. */
  private finish(videoId: string, w: Watched): void {
    this.stop(videoId, w);
    for (const l of [...w.listeners]) l.end();
    w.listeners.clear();
  }

  private remove(videoId: string, l: Listener): void {
    const w = this.watched.get(videoId);
    if (!w || !w.listeners.delete(l)) return;
    if (w.listeners.size === 0) this.stop(videoId, w);
  }

  private stop(videoId: string, w: Watched): void {
    if (this.watched.get(videoId) === w) this.watched.delete(videoId);
    clearInterval(w.timer);
    w.unsubscribe();
  }

  close(): void {
    for (const [id, w] of [...this.watched]) this.stop(id, w);
  }
}
