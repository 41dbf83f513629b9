// Chat's pure parts without a server: text rules, client frame parsing, the token bucket, and the
// hand-built WebSocket frames (checked by decoding them with ws's own receiver).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as wsModule from 'ws';
import { charLength, cleanText, parseClientFrame } from '../src/chat/chat.text.js';
import { ChatRateLimiter } from '../src/chat/chat.rate-limit.js';
import { eventFrame, textFrame } from '../src/chat/chat.frames.js';

describe('chat text', () => {
  it('trims, removes controls and bidi overrides, keeps HTML and emoji', () => {
    assert.deepEqual(cleanText('  <b>hi</b>  ', 500), { ok: true, text: '<b>hi</b>' });
    assert.deepEqual(cleanText('a\u0000b\u001bc\u007f\u0085d\u202ee\u2067f', 500), { ok: true, text: 'abc d' + 'ef' });
    assert.deepEqual(cleanText('line1\nline2\tx', 500), { ok: true, text: 'line1 line2 x' });
    assert.deepEqual(cleanText('\ud800x', 500), { ok: true, text: '\ufffdx' });
    assert.equal(cleanText(' \n\t\u0000 ', 500).ok, false);
    assert.equal((cleanText('', 500) as { code: string }).code, 'empty');
  });

  it('counts characters, not UTF-16 units: 500 emoji pass, 501 characters do not', () => {
    const emoji = '😀'.repeat(500);
    assert.equal(charLength(emoji), 500);
    assert.equal(cleanText(emoji, 500).ok, true);
    const long = cleanText('a'.repeat(501), 500);
    assert.equal(long.ok, false);
    assert.equal((long as { code: string }).code, 'too_long');
    assert.equal(cleanText(`  ${'a'.repeat(500)}  `, 500).ok, true, 'length is measured after trimming');
  });

  it('parses chat.send frames and explains bad ones', () => {
    assert.deepEqual(parseClientFrame(Buffer.from('{"type":"chat.send","message":"hi"}'), false, 1000), { ok: true, type: 'chat.send', message: 'hi' });
    for (const bad of ['nope', '[]', 'null', '{"type":"x"}', '{"type":"chat.send"}', '{"type":"chat.send","message":{}}']) {
      const r = parseClientFrame(Buffer.from(bad), false, 1000);
      assert.equal(r.ok, false, bad);
      assert.ok('detail' in r && r.detail.length > 0);
    }
    assert.equal(parseClientFrame(Buffer.from('{}'), true, 1000).ok, false);
    assert.deepEqual(parseClientFrame(Buffer.from('x'.repeat(2000)), false, 1000), { ok: false, tooLong: true });
  });
});

describe('chat token bucket', () => {
  it('allows 3 per 2 s, then mutes for 10 s; refills continuously', () => {
    const rl = new ChatRateLimiter({ capacity: 3, windowMs: 2000, muteMs: 10_000 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) assert.equal(rl.take('u', t0).ok, true);
    const fourth = rl.take('u', t0);
    assert.deepEqual(fourth, { ok: false, retryAfterMs: 10_000, muted: true });
    assert.equal(rl.take('u', t0 + 9_999).ok, false, 'still muted');
    assert.equal(rl.take('u', t0 + 10_000).ok, true, 'mute over, bucket refilled');
    assert.equal(rl.take('other', t0).ok, true, 'buckets are per key');
  });

  it('without a mute it says how long until the next token; idle full buckets are swept', () => {
    const rl = new ChatRateLimiter({ capacity: 2, windowMs: 1000, muteMs: 0 });
    assert.equal(rl.take('u', 0).ok, true);
    assert.equal(rl.take('u', 0).ok, true);
    assert.deepEqual(rl.take('u', 0), { ok: false, retryAfterMs: 500, muted: false });
    assert.equal(rl.take('u', 500).ok, true);
    rl.sweep(600);
    assert.equal(rl.size, 1);
    rl.sweep(5000);
    assert.equal(rl.size, 0);
  });
});

// ws exports its frame parser at runtime, but its type definitions leave it out.
const { Receiver } = wsModule as unknown as { Receiver: new (o: { isServer: boolean }) => import('node:stream').Writable };

describe('chat frames', () => {
  function decode(frames: Buffer): string[] {
    const out: string[] = [];
    const r = new Receiver({ isServer: false });
    r.on('message', (data: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, false);
      out.push(data.toString('utf8'));
    });
    r.write(frames);
    r.end();
    return out;
  }

  it('builds text frames of every length class that ws decodes, alone and concatenated', () => {
    const payloads = ['', 'a'.repeat(125), 'b'.repeat(126), 'ü'.repeat(40_000), 'c'.repeat(70_000)];
    for (const p of payloads) assert.deepEqual(decode(textFrame(Buffer.from(p))), [p]);
    assert.deepEqual(decode(Buffer.concat(payloads.map((p) => textFrame(Buffer.from(p))))), payloads);
    assert.deepEqual(JSON.parse(decode(eventFrame({ event_type: 'chat.closed', stream_id: 's' }))[0]), { event_type: 'chat.closed', stream_id: 's' });
  });
});
