// Finding 8: titles and descriptions of videos and streams are cleaned as chat text is: NUL and
// other controls, bidi overrides/isolates and lone surrogates never reach storage or readers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NovaClient } from '../../src/client/nova-client.js';
import { startTestNova, type TestNova } from '../helpers/nova.js';

// Sent as raw JSON so the lone surrogates (\ud800, \udfff) arrive exactly as an attacker writes them.
const DIRTY_TITLE = '"inv\\u0000oice\\u202Egpj.exe\\u202C \\ud800 \\u2066x\\u2069\\u0007\\u009b end"';
const DIRTY_DESCRIPTION = '"line one\\r\\nline\\u0000 two\\u202E\\n\\tindented \\udfff"';
// eslint-disable-next-line no-control-regex -- the pattern exists to find control characters
const FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('abuse: control, bidi and surrogate characters in titles and descriptions', () => {
  let t: TestNova;
  let user: NovaClient;

  before(async () => {
    t = await startTestNova();
    user = (await t.client.newUser('text')).client;
  });
  after(async () => t?.stop());

  it('video title and description are cleaned before they are stored', async () => {
    const created = await user.request<{ video: { id: string; title: string; description: string } }>('POST', '/api/v1/videos', `{"title":${DIRTY_TITLE},"description":${DIRTY_DESCRIPTION}}`);
    assert.equal(created.status, 201);
    const read = await user.get<{ title: string; description: string }>(`/api/v1/videos/${created.body.video.id}`);
    for (const v of [created.body.video, read.body]) {
      assert.doesNotMatch(v.title, FORBIDDEN);
      assert.doesNotMatch(v.description, FORBIDDEN);
      assert.equal(v.title, 'invoicegpj.exe \uFFFD x end');
      assert.equal(v.description, 'line one\nline two\n\tindented \uFFFD');
    }
  });

  it('stream titles are cleaned; a title of nothing but invisible characters is a 400', async () => {
    const created = await user.request<{ stream: { id: string; title: string } }>('POST', '/api/v1/streams', `{"title":${DIRTY_TITLE}}`);
    assert.equal(created.status, 201);
    assert.equal(created.body.stream.title, 'invoicegpj.exe \uFFFD x end');
    const read = await user.get<{ title: string }>(`/api/v1/streams/${created.body.stream.id}`);
    assert.doesNotMatch(read.body.title, FORBIDDEN);
    for (const path of ['/api/v1/streams', '/api/v1/videos']) {
      const blank = await user.request<{ errors: Array<{ field: string }> }>('POST', path, '{"title":"\\u202E\\u0000\\u2066 \\u2069"}');
      assert.equal(blank.status, 400, path);
      assert.deepEqual(
        blank.body.errors.map((e) => e.field),
        ['title'],
      );
    }
  });
});
