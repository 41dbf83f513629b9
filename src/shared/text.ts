// Cleaning of user-written text (chat messages, titles, descriptions): control characters, the bidi
// embedding/override/isolate marks that make text display in another order than it was typed in
// (used to spoof words and file names), NUL and lone surrogates (invalid UTF-16 that breaks JSON
// consumers and databases) are removed; the rest is kept as typed. Text is data, never HTML.

// Whitespace controls become spaces (or stay line breaks in multi-line text) so words do not run together.
const LINE_BREAKS = /\r\n?|[\n\v\f\u0085\u2028\u2029]/g;
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;
// C0/C1 controls (NUL included) and the bidi marks U+202A-U+202E, U+2066-U+2069.
/* eslint-disable no-control-regex -- these patterns exist to find control characters */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
const CONTROLS_AND_NEWLINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
/* eslint-enable no-control-regex */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** One line of text (a title, a chat message): line breaks and tabs become spaces; trimmed. */
export function cleanLine(raw: string): string {
  return raw.replace(LONE_SURROGATE, '\uFFFD').replace(WHITESPACE_CONTROLS, ' ').replace(CONTROLS_AND_NEWLINE, '').normalize('NFC').trim();
}

/** Several lines (a description): line breaks are kept as \n and tabs kept; trimmed. */
export function cleanMultiline(raw: string): string {
  return raw.replace(LONE_SURROGATE, '\uFFFD').replace(LINE_BREAKS, '\n').replace(CONTROLS, '').normalize('NFC').trim();
}

/** Length in characters (code points), so an emoji counts once. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
