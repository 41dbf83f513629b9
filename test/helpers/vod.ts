// Shared steps of the VOD suites: users with roles, tiny generated clips, an upload through tus,
// and reading HLS playlists the way a player does (relative URIs resolved against the playlist).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { NovaClient, UserInfo } from '../../src/client/nova-client.js';
import { createVideo, uploadFile, type CreatedVideo } from '../../src/client/videos.client.js';
import { makeClip, type ClipSpec } from '../fixtures/clips.js';

export interface VodUsers {
  admin: NovaClient;
  owner: NovaClient;
  ownerInfo: UserInfo;
  other: NovaClient;
}

/** The first account of a fresh instance is its admin; owner and other are plain users. */
export async function vodUsers(base: NovaClient): Promise<VodUsers> {
  const admin = (await base.newUser('admin')).client;
  const owner = await base.newUser('owner');
  const other = (await base.newUser('other')).client;
  return { admin, owner: owner.client, ownerInfo: owner.user, other };
}

export const CLIP_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-vod-clips-'));

/** A clip generated once per test process. */
export async function clip(name: string, spec: ClipSpec): Promise<string> {
  const file = path.join(CLIP_DIR, name);
  if (!fs.existsSync(file)) await makeClip(spec, file);
  return file;
}

export function removeClips(): void {
  fs.rmSync(CLIP_DIR, { recursive: true, force: true });
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export async function createAndUpload(c: NovaClient, file: string, title = 'clip'): Promise<CreatedVideo> {
  const res = await createVideo(c, { title });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  await uploadFile(c, res.body.upload.url, file);
  return res.body;
}

export async function fetchText(url: string): Promise<{ status: number; text: string; headers: Headers; url: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers, url: res.url };
}

/** URIs (non-comment lines) of a playlist, resolved against its URL. */
export function playlistEntries(text: string, base: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((u) => new URL(u, base).toString());
}

/** `#EXT-X-STREAM-INF` attributes of a master playlist, one object per variant. */
export function variantAttributes(master: string): Array<Record<string, string>> {
  return master
    .split('\n')
    .filter((l) => l.startsWith('#EXT-X-STREAM-INF:'))
    .map((l) => {
      const attrs: Record<string, string> = {};
      for (const m of l.slice('#EXT-X-STREAM-INF:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) attrs[m[1]] = m[2].replace(/^"|"$/g, '');
      return attrs;
    });
}
