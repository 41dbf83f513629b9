// Where a video's objects live in storage. Everything of one video sits under videos/<id>/, so a
// delete is one prefix removal. The source is private; renditions and thumbnails of each transcode
// run sit under r/<run_id>/, so a segment's URL never changes content (safe to cache as immutable).

export const TRANSCODE_JOB = 'video.transcode';

export function videoPrefix(videoId: string): string {
  return `videos/${videoId}/`;
}

export function sourceKey(videoId: string): string {
  return `videos/${videoId}/source/original`;
}

export function runsPrefix(videoId: string): string {
  return `videos/${videoId}/r/`;
}

export function runPrefix(videoId: string, runId: string): string {
  return `videos/${videoId}/r/${runId}/`;
}

/** The part of a key that the public media route serves, or null for private objects (the source). */
export function publicPath(videoId: string, key: string): string | null {
  const prefix = runsPrefix(videoId);
  return key.startsWith(prefix) ? key.slice(videoPrefix(videoId).length) : null;
}

/** Maps a media route path back to a key; null when it names something that is not public. */
export function keyForPublicPath(videoId: string, path: string): string | null {
  if (!/^r\/[a-z0-9]+\/[A-Za-z0-9._\-/]+$/.test(path)) return null;
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
  return `${videoPrefix(videoId)}${path}`;
}
