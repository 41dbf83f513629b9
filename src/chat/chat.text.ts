// The rules a chat message's text must pass, and the parsing of client frames. Text is cleaned as
// every user-written line is (src/shared/text.ts) and otherwise kept as typed: it is data, never
// HTML, so `<script>` is stored and delivered verbatim and escaping is the renderer's job.
import { charLength, cleanLine } from '../shared/text.js';

export { charLength };

export type TextResult = { ok: true; text: string } | { ok: false; code: 'empty' | 'too_long'; detail: string };

export function cleanText(raw: string, maxChars: number): TextResult {
  const text = cleanLine(raw);
  if (text.length === 0) return { ok: false, code: 'empty', detail: 'The message is empty.' };
  // Cheap bound first: UTF-16 length is at least the character count.
  if (text.length > maxChars && charLength(text) > maxChars) {
    return { ok: false, code: 'too_long', detail: `The message is longer than ${maxChars} characters.` };
  }
  return { ok: true, text };
}

export type ClientFrame = { ok: true; type: 'chat.send'; message: string } | { ok: false; detail: string };

/**
 * Parses one frame from a client. `maxBytes` bounds what is worth parsing at all: a frame
 * larger than any valid message is refused before JSON.parse.
 */
export function parseClientFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, maxBytes: number): ClientFrame | { ok: false; tooLong: true } {
  if (isBinary) return { ok: false, detail: 'Frames must be text: JSON like {"type":"chat.send","message":"hi"}.' };
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buf.length > maxBytes) return { ok: false, tooLong: true };
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch {
    return { ok: false, detail: 'The frame is not valid JSON.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, detail: 'The frame must be a JSON object.' };
  const v = value as Record<string, unknown>;
  if (v.type !== 'chat.send') return { ok: false, detail: `Unknown frame type ${JSON.stringify(String(v.type ?? '')).slice(0, 40)}: the only one is "chat.send".` };
  if (typeof v.message !== 'string') return { ok: false, detail: 'chat.send needs "message" as a string.' };
  return { ok: true, type: 'chat.send', message: v.message };
}
