// The signed-in user and their bearer token, kept in localStorage so a reload stays signed in.
// Listeners re-render the header when someone signs in or out (also from another tab).
import type { MeJson } from '../../src/accounts/accounts.schemas.js';

/** The signed-in user, as the server's Me schema has it. */
export type SessionUser = MeJson;

interface Stored {
  token: string;
  user: SessionUser;
}

const KEY = 'nova.session';
const listeners = new Set<() => void>();

function read(): Stored | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Stored;
    return typeof parsed?.token === 'string' && parsed.user ? parsed : null;
  } catch {
    return null;
  }
}

let current = read();

window.addEventListener('storage', (ev) => {
  if (ev.key !== KEY) return;
  current = read();
  for (const fn of listeners) fn();
});

export const session = {
  get token(): string | null {
    return current?.token ?? null;
  },
  get user(): SessionUser | null {
    return current?.user ?? null;
  },
  get isAdmin(): boolean {
    return current?.user.role === 'admin';
  },
  set(token: string, user: SessionUser): void {
    current = { token, user };
    localStorage.setItem(KEY, JSON.stringify(current));
    for (const fn of listeners) fn();
  },
  clear(): void {
    const userId = current?.user.id;
    current = null;
    localStorage.removeItem(KEY);
    if (userId) forgetUserData(userId);
    for (const fn of listeners) fn();
  },
  onChange(fn: () => void): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

/** Where a page keeps something of the signed-in user's in this browser; signing out removes it. */
export function userStorageKey(name: string, userId: string): string {
  return `nova.user.${userId}.${name}`;
}

function forgetUserData(userId: string): void {
  const prefix = userStorageKey('', userId);
  const mine = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i)).filter((k): k is string => k !== null && k.startsWith(prefix));
  for (const k of mine) localStorage.removeItem(k);
}

/** A stable random id for this browser, so anonymous views are counted once per viewer. */
export function viewerId(): string {
  const key = 'nova.viewer';
  let id = localStorage.getItem(key);
  if (!id || !/^[A-Za-z0-9_-]{8,128}$/.test(id)) {
    // getRandomValues works on plain http too (randomUUID needs a secure context).
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem(key, id);
  }
  return id;
}
