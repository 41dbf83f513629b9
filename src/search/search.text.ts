// Text folding shared by indexing and querying: lower case, diacritics removed, a few letters that
// do not decompose spelled out, and words split on anything that is not a letter or digit. Both
// engines index and match these folded words, so SQLite and Postgres behave the same, and no
// character of a query ever reaches an engine's query syntax.

const SPELLED: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ł: 'l', þ: 'th', ı: 'i' };

export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøđłþı]/g, (c) => SPELLED[c] ?? c);
}

/** The folded words of a text, in order. */
export function words(text: string): string[] {
  return fold(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Folded words joined by spaces: what the index stores. */
export function indexText(...parts: string[]): string {
  return parts.flatMap((p) => words(p)).join(' ');
}

/** At most this many words of a query count; more would only slow the match. */
export const MAX_QUERY_WORDS = 8;

/** The distinct words of a query (each matched as a prefix), longest-first capped. */
export function queryWords(q: string): string[] {
  return [...new Set(words(q))].slice(0, MAX_QUERY_WORDS).map((w) => w.slice(0, 64));
}
