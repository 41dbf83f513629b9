// request.log is made when a request first logs (src/http/request-logger.ts): what it writes must
// be what the pino child Fastify used to make writes (request id, redaction), at the same levels.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import pino from 'pino';
import { requestLoggerFactory } from '../src/http/request-logger.js';

function capture(level: string): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level, timestamp: false, redact: { paths: ['token', '*.token'], censor: '[redacted]' } }, stream);
  return { logger, lines };
}

describe('request logger', () => {
  it('writes what a child made up front writes: bindings, redaction, nested children', () => {
    const lazy = capture('info');
    const eager = capture('info');
    for (const { logger } of [lazy, eager]) {
      const log = logger === lazy.logger ? requestLoggerFactory(logger, { reqId: 'r-1' }, {}) : logger.child({ reqId: 'r-1' });
      log.info({ token: 'secret', user: { token: 'secret' } }, 'hello %s', 'there');
      log.error(new Error('boom'));
      log.debug('not written');
      log.child({ part: 'x' }).warn('from a child');
    }
    assert.equal(lazy.lines.length, 3);
    assert.deepEqual(
      lazy.lines.map((l) => ({ ...l, stack: undefined, err: undefined })),
      eager.lines.map((l) => ({ ...l, stack: undefined, err: undefined })),
    );
    assert.equal(lazy.lines[0].reqId, 'r-1');
    assert.equal(lazy.lines[0].token, '[redacted]');
    assert.equal(lazy.lines[0].msg, 'hello there');
    assert.equal(lazy.lines[2].part, 'x');
  });

  it('follows its parent level until given its own', () => {
    const { logger, lines } = capture('warn');
    const log = requestLoggerFactory(logger, { reqId: 'r-2' }, {}) as pino.Logger;
    log.info('no');
    assert.equal(log.level, 'warn');
    assert.equal(log.isLevelEnabled('info'), false);
    logger.level = 'info';
    log.info('yes');
    log.level = 'debug';
    log.debug('debug too');
    assert.equal(logger.level, 'info');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['yes', 'debug too'],
    );
  });

  it('gives a route with its own log level a child at once', () => {
    const { logger, lines } = capture('info');
    const log = requestLoggerFactory(logger, { reqId: 'r-3' }, { level: 'warn' }) as pino.Logger;
    assert.equal(typeof log.bindings, 'function');
    assert.deepEqual(log.bindings(), { reqId: 'r-3' });
    log.info('no');
    log.warn('yes');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['yes'],
    );
  });

  it("is Fastify's request.log: its lines carry the request id", async () => {
    const { logger, lines } = capture('info');
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: requestLoggerFactory, genReqId: () => 'req-42' });
    app.get('/x', (request) => {
      request.log.warn({ token: 't' }, 'in the handler');
      return { ok: true };
    });
    const res = await app.inject({ method: 'GET', url: '/x' });
    await app.close();
    assert.equal(res.statusCode, 200);
    const mine = lines.find((l) => l.msg === 'in the handler');
    assert.ok(mine);
    assert.equal(mine.reqId, 'req-42');
    assert.equal(mine.token, '[redacted]');
    // Fastify's own request logging goes through it too.
    assert.ok(lines.some((l) => l.msg === 'incoming request' && l.reqId === 'req-42'));
    assert.ok(lines.some((l) => l.msg === 'request completed' && l.reqId === 'req-42'));
  });
});
