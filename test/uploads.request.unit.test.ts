// The body stream @tus/server reads an upload from (src/uploads/uploads.request.ts), over a stand-in
// for the Node request: chunks arrive as they were received (not copied), the stream ends with the
// request, a request cut short ends it with an AbortError (what @tus/server treats as an aborted
// upload, keeping what arrived), and cancelling it destroys the request. Whole uploads through it,
// dropped connections included, are covered by uploads.tus.test.ts.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { bodyStream } from '../src/uploads/uploads.request.js';

function fakeRequest(): PassThrough & IncomingMessage {
  return new PassThrough() as PassThrough & IncomingMessage;
}

describe('uploads: request body stream', () => {
  it('hands the received chunks over as they are, then ends', async () => {
    const req = fakeRequest();
    const body = bodyStream(req);
    const a = Buffer.from('first chunk');
    const b = Buffer.from('second chunk');
    req.write(a);
    req.end(b);
    const got: Uint8Array[] = [];
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) got.push(chunk);
    assert.equal(Buffer.concat(got).toString(), 'first chunksecond chunk');
    assert.equal(got[0].buffer, a.buffer, 'the first chunk is the received buffer, not a copy');
  });

  it('errors with an AbortError when the request is cut short', async () => {
    const req = fakeRequest();
    const reader = bodyStream(req).getReader();
    req.write(Buffer.from('partial'));
    assert.equal(Buffer.from((await reader.read()).value!).toString(), 'partial');
    req.destroy();
    await assert.rejects(reader.read(), (err: Error) => err.name === 'AbortError');
  });

  it('passes a request error on', async () => {
    const req = fakeRequest();
    const reader = bodyStream(req).getReader();
    req.destroy(new Error('socket broke'));
    await assert.rejects(reader.read(), /socket broke/);
  });

  it('destroys the request when the stream is cancelled', async () => {
    const req = fakeRequest();
    const body = bodyStream(req);
    await body.cancel(new Error('store gave up'));
    assert.equal(req.destroyed, true);
  });
});
