// Search over videos, live streams and users: folded query words, each matched as a prefix (see
// search.text); ranked by relevance, then popularity, then recency. Video hits are checked again
// against the videos themselves, so a visibility change hides a video from the very next search.
import type { AuthUser } from '../accounts/accounts.service.js';
import type { AccountsService } from '../accounts/accounts.service.js';
import { ValidationError } from '../http/errors.js';
import type { VideosRepository, VideoRow } from '../videos/videos.repository.js';
import { MAX_SEARCH_OFFSET } from './search.schemas.js';
import type { SearchKind, SearchRepository } from './search.repository.js';
import { queryWords } from './search.text.js';

export interface SearchRequest {
  q: string;
  type: SearchKind;
  limit: number;
  cursor?: string;
}

export interface SearchItem {
  type: SearchKind;
  id: string;
  score: number;
  title?: string;
  username?: string;
  owner_id?: string;
  created_at?: string;
  video?: VideoRow;
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const m = /^o(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const offset = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(offset) || offset > MAX_SEARCH_OFFSET) throw new ValidationError('The cursor is not one this server issued.', [{ field: 'cursor', message: 'is invalid' }]);
  return offset;
}

const encodeCursor = (offset: number): string => Buffer.from(`o${offset}`, 'utf8').toString('base64url');

export class SearchService {
  constructor(
    private readonly repo: SearchRepository,
    private readonly videos: VideosRepository,
    private readonly accounts: AccountsService,
  ) {}

  async search(user: AuthUser | null, r: SearchRequest): Promise<{ items: SearchItem[]; next_cursor: string | null }> {
    const offset = decodeCursor(r.cursor);
    const words = queryWords(r.q);
    // Only punctuation (quotes, `*`, brackets…): taken literally, it matches no word.
    if (words.length === 0) return { items: [], next_cursor: null };
    const admin = user?.role === 'admin';
    const more = (n: number): string | null => (n > r.limit && offset + r.limit <= MAX_SEARCH_OFFSET ? encodeCursor(offset + r.limit) : null);

    if (r.type === 'user') {
      const rows = await this.accounts.findByPrefix(words.join(''), r.limit + 1, offset);
      const items = rows.slice(0, r.limit).map((u, i) => ({ type: 'user' as const, id: u.id, username: u.username, created_at: u.created_at, score: 1 / (1 + offset + i) }));
      return { items, next_cursor: more(rows.length) };
    }

    const hits = await this.repo.search({ kind: r.type, words, viewer: { userId: user?.id ?? null, admin }, limit: r.limit + 1, offset });
    const page = hits.slice(0, r.limit);
    const names = await this.accounts.usernames(page.map((h) => h.owner_id).filter((x): x is string => x !== null));
    let rows = new Map<string, VideoRow>();
    if (r.type === 'video') rows = new Map((await this.videos.findMany(page.map((h) => h.id))).map((v) => [v.id, v]));
    const items: SearchItem[] = [];
    for (const h of page) {
      const item: SearchItem = {
        type: h.kind,
        id: h.id,
        title: h.title,
        owner_id: h.owner_id ?? undefined,
        username: names.get(h.owner_id ?? ''),
        created_at: h.created_at,
        score: Math.round(h.score * 1e6) / 1e6,
      };
      if (r.type === 'video') {
        const v = rows.get(h.id);
        const mine = user !== null && (admin || v?.owner_id === user.id);
        if (!v || v.status !== 'ready' || (!mine && v.visibility !== 'public')) continue;
        item.title = v.title;
        item.video = v;
      }
      items.push(item);
    }
    return { items, next_cursor: more(hits.length) };
  }
}
