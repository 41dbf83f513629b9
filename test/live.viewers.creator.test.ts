// A stream's creator is not part of its audience: their chat sockets (the dashboard's chat panel,
// another tab) do not count in viewer_count or peak_viewer_count, while every other chat socket,
// signed in or anonymous, counts as before. Real WebSockets against one embedded Nova.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatSocket } from '../src/client/chat.client.js';
import { createStream, endStream, getStream } from '../src/client/live.client.js';
import type { NovaClient } from '../src/client/nova-client.js';
import { startTestNova, type TestNova } from './helpers/nova.js';

describe('live viewer counts leave out the stream creator', () => {
  let t: TestNova;
  let creator: NovaClient;
  let fan: NovaClient;
  const sockets: ChatSocket[] = [];
  const open = async (sid: string, token: string | null, viewer?: string) => {
    const s = await ChatSocket.open(t.url, sid, { token, viewer });
    sockets.push(s);
    // Joined (and counted, if it counts) once the history frame arrives.
    await s.waitFor((e) => e.event_type === 'chat.history');
    return s;
  };

  before(async () => {
    t = await startTestNova();
    await t.client.newUser('admin');
    creator = (await t.client.newUser('caster')).client;
    fan = (await t.client.newUser('fan')).client;
  });

  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await t?.stop();
  });

  it("counts the viewers' chat sockets and not the creator's, now and in the peak", async () => {
    const created = await createStream(creator, 'Creator not counted');
    assert.equal(created.status, 201);
    const sid = created.body.stream.id;
    // The encoder's side is covered by the other live suites: mark the stream live as a publish would.
    await t.nova.container.db.kysely.updateTable('streams').set({ status: 'live', started_at: new Date().toISOString() }).where('id', '=', sid).execute();

    // The creator's dashboard chat and a second tab of theirs (with a player's viewer id).
    const dashboard = await open(sid, creator.token!);
    const tab = await open(sid, creator.token!, 'creator-player-0001');
    assert.equal((await getStream(t.client, sid)).body.viewer_count, 0, 'the creator alone is no audience');

    await open(sid, fan.token!);
    await open(sid, null);
    const live = (await getStream(t.client, sid)).body;
    assert.equal(live.viewer_count, 2, 'a signed-in fan and an anonymous viewer');
    assert.equal(live.peak_viewer_count, 2);

    // The creator leaving changes nothing for the others.
    await Promise.all([dashboard.close(), tab.close()]);
    assert.equal((await getStream(t.client, sid)).body.viewer_count, 2);

    const ended = await endStream(creator, sid);
    assert.equal(ended.status, 200);
    assert.equal(ended.body.peak_viewer_count, 2, 'the peak never included the creator');
  });
});
