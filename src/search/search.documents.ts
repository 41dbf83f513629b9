// What each searchable thing contributes to the index: which words match it and who may find it.
// The owning capability (videos, in the same transaction as its write; live, from its events)
// hands its rows over through these builders.
import type { SearchDocument } from './search.repository.js';
import { indexText } from './search.text.js';

export interface VideoForSearch {
  id: string;
  owner_id: string;
  title: string;
  description: string;
  /** Set while a moderator hides the video: it is listed to nobody then. */
  hidden_at?: string | null;
  /** JSON array of strings. */
  tags: string;
  status: string;
  visibility: string;
  created_at: string;
}

export function videoDocument(v: VideoForSearch, ownerUsername: string): SearchDocument {
  let tags: string[] = [];
  try {
    tags = JSON.parse(v.tags) as string[];
  } catch {
    tags = [];
  }
  const ready = v.status === 'ready';
  return {
    id: v.id,
    kind: 'video',
    ownerId: v.owner_id,
    listed: ready && v.visibility === 'public' && !v.hidden_at,
    // Owners (and admins) also find their own unlisted and private videos.
    findable: ready,
    title: v.title,
    titleText: indexText(v.title),
    bodyText: indexText(tags.join(' '), ownerUsername, v.description),
    createdAt: v.created_at,
  };
}

/** A live stream, found by its title while it is live. */
export function streamDocument(s: { stream_id: string; creator_id: string; title: string; timestamp: string }): SearchDocument {
  return {
    id: s.stream_id,
    kind: 'stream',
    ownerId: s.creator_id,
    listed: true,
    findable: true,
    title: s.title,
    titleText: indexText(s.title),
    bodyText: '',
    createdAt: s.timestamp,
  };
}
