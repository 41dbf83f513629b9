// Configuration: defaults, validation with one clear line naming the variable, and the CLI's exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('config', () => {
  it('has the contract defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.rtmpPort, 1935);
    assert.equal(c.uploadMaxBytes, 10 * 1024 ** 3);
    assert.equal(c.liveReconnectWindowSeconds, 60);
    assert.equal(c.webhooksAllowPrivate, false);
    assert.ok(c.sqlitePath.endsWith('data/nova.db'));
    assert.equal(c.s3, undefined);
  });

  it('picks the VOD x264 preset by core count unless told, and live never slower than superfast', () => {
    const small = os.availableParallelism() <= 2;
    assert.equal(loadConfig({}).ffmpegPreset, small ? 'superfast' : 'veryfast');
    assert.equal(loadConfig({ FFMPEG_PRESET: 'medium' }).ffmpegPreset, 'medium');
    assert.equal(loadConfig({ FFMPEG_PRESET: 'medium' }).liveFfmpegPreset, 'superfast');
    assert.equal(loadConfig({ FFMPEG_PRESET: 'ultrafast' }).liveFfmpegPreset, 'ultrafast');
    assert.throws(() => loadConfig({ FFMPEG_PRESET: 'turbo' }), /FFMPEG_PRESET/);
  });

  it('encodes per title unless ENCODING_MODE=fixed; any other value names the variable', () => {
    assert.equal(loadConfig({}).encodingMode, 'per_title');
    assert.equal(loadConfig({ ENCODING_MODE: 'per_title' }).encodingMode, 'per_title');
    assert.equal(loadConfig({ ENCODING_MODE: 'fixed' }).encodingMode, 'fixed');
    for (const bad of ['abr', 'PER_TITLE', 'per-title']) {
      assert.throws(
        () => loadConfig({ ENCODING_MODE: bad }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'ENCODING_MODE' && e.message.includes(bad) && /per_title or fixed/.test(e.message),
        bad,
      );
    }
  });

  it('caches sessions 5 s unless nodes share Postgres without Redis; SESSION_CACHE_SECONDS is 0..60', () => {
    const pg = 'postgres://127.0.0.1/nova';
    assert.equal(loadConfig({}).sessionCacheSeconds, 5);
    assert.equal(loadConfig({ DATABASE_URL: pg, REDIS_URL: 'redis://127.0.0.1:6379' }).sessionCacheSeconds, 5);
    assert.equal(loadConfig({ DATABASE_URL: pg }).sessionCacheSeconds, 0);
    assert.equal(loadConfig({ DATABASE_URL: pg, SESSION_CACHE_SECONDS: '3' }).sessionCacheSeconds, 3);
    assert.equal(loadConfig({ SESSION_CACHE_SECONDS: '0' }).sessionCacheSeconds, 0);
    assert.throws(() => loadConfig({ SESSION_CACHE_SECONDS: '61' }), /SESSION_CACHE_SECONDS/);
  });

  it('trusts no proxy unless TRUST_PROXY says which', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback,::1' }).trustProxy, ['10.0.0.0/8', 'loopback', '::1']);
    for (const bad of ['10.0.0.0/33', 'proxy.example', '1.2.3.4/8/9', '99']) assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY/, bad);
  });

  it('bounds the HTTP server by default; METRICS_PORT and NODE_ENV are read', () => {
    const h = loadConfig({}).http;
    assert.equal(h.headersTimeoutMs, 10_000);
    assert.equal(h.requestTimeoutMs, 60_000);
    assert.equal(h.maxConnectionsPerAddress, 256);
    assert.equal(h.maxStreamsPerAddress, 20);
    assert.equal(h.passwordScryptLogN, 17);
    assert.equal(h.metricsPort, undefined);
    assert.equal(h.production, false);
    assert.equal(loadConfig({ METRICS_PORT: '9464' }).http.metricsPort, 9464);
    assert.equal(loadConfig({ NODE_ENV: 'production' }).http.production, true);
    for (const [name, bad] of [
      ['METRICS_PORT', '70000'],
      ['HTTP_HEADERS_TIMEOUT_MS', '10'],
      ['STREAMS_MAX_PER_ADDRESS', '0'],
      ['PASSWORD_SCRYPT_LOG_N', '30'],
      ['HTTP_MAX_CONNECTIONS_PER_ADDRESS', '-1'],
    ]) {
      assert.throws(
        () => loadConfig({ [name!]: bad }),
        (e: unknown) => e instanceof ConfigError && e.variable === name,
        name,
      );
    }
  });

  it('names the bad variable', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'PORT',
    );
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ S3_ENDPOINT: 'http://localhost:9000' }), /S3_BUCKET/);
    assert.throws(() => loadConfig({ KAFKA_BROKERS: 'nohostport' }), /KAFKA_BROKERS/);
    assert.throws(() => loadConfig({ KAFKA_PARTITIONS: '0' }), /KAFKA_PARTITIONS/);
    assert.throws(() => loadConfig({ KAFKA_COMPRESSION: 'brotli' }), /KAFKA_COMPRESSION/);
    assert.throws(() => loadConfig({ KAFKA_GROUP_PREFIX: 'a b' }), /KAFKA_GROUP_PREFIX/);
    assert.throws(() => loadConfig({ KAFKA_CREATE_TOPICS: 'maybe' }), /KAFKA_CREATE_TOPICS/);
    assert.deepEqual(loadConfig({}).kafka, { partitions: 6, createTopics: true, groupPrefix: 'nova.', compression: 'none' });
    assert.throws(() => loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'maybe' }), /WEBHOOKS_ALLOW_PRIVATE/);
  });

  it('the CLI refuses to start with one clear line', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { env: { ...process.env, PORT: '99999' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 2);
    assert.equal(res.stderr.trim().split('\n').length, 1);
    assert.match(res.stderr, /^nova: Invalid PORT: 99999 is outside 0\.\.65535/);
  });
});
