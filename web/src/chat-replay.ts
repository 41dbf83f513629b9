// The chat of a recorded broadcast beside its recording: every message appears when the player
// reaches the moment it was sent, and seeking back takes later ones away again.
import { h, replace } from './dom.js';
import { ApiError, get } from './api.js';
import type { ReplayMessage } from './types.js';

export interface ChatReplayPanel {
  el: HTMLElement;
  dispose(): void;
}

/** Null when the video has no chat (it is not a recording of a broadcast, or a clip of one). */
export async function chatReplayPanel(videoId: string, video: HTMLVideoElement): Promise<ChatReplayPanel | null> {
  let items: ReplayMessage[];
  try {
    items = (await get<{ items: ReplayMessage[] }>(`/api/v1/videos/${encodeURIComponent(videoId)}/chat`)).items;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 409 || err.status === 404)) return null;
    throw err;
  }
  const list = h('ol', { class: 'chat-list', 'aria-live': 'polite' });
  const state = h('span', { class: 'chat-state' }, items.length ? `${items.length} messages` : 'No messages');
  const el = h('aside', { class: 'chat replay', 'aria-label': 'Chat replay' }, h('div', { class: 'chat-head row spread' }, h('h2', null, 'Chat replay'), state), list);
  let shown = -1;

  const paint = () => {
    const t = video.currentTime;
    // Messages come sorted by offset: the ones up to now are a prefix.
    let n = 0;
    while (n < items.length && items[n].offset_seconds <= t) n += 1;
    if (n === shown) return;
    const grew = n > shown && shown >= 0;
    shown = n;
    if (grew) {
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
      for (const m of items.slice(list.children.length, n)) list.append(row(m));
      if (atBottom) list.scrollTop = list.scrollHeight;
    } else {
      replace(list, ...items.slice(0, n).map(row));
      list.scrollTop = list.scrollHeight;
    }
  };
  video.addEventListener('timeupdate', paint);
  video.addEventListener('seeked', paint);
  paint();
  return {
    el,
    dispose() {
      video.removeEventListener('timeupdate', paint);
      video.removeEventListener('seeked', paint);
    },
  };
}

function row(m: ReplayMessage): HTMLElement {
  const at = Math.floor(m.offset_seconds);
  const stamp = `${Math.floor(at / 60)}:${String(at % 60).padStart(2, '0')}`;
  return h('li', null, h('span', { class: 'meta' }, stamp), ' ', h('span', { class: 'who' }, m.username), ' ', h('span', { class: 'text' }, m.message));
}
