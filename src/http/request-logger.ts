// Every request gets a logger bound to its request id (`request.log`). A pino child costs a few µs
// to make (its bindings go through the redaction rules; Fastify's `{}` options take pino's slow
// path), which was a tenth of what serving a page cost, and most requests log nothing at the
// configured level. So the child is made the first time the request logs at an enabled level.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** `request.log` until it first writes: then the pino child Fastify would have made, unchanged. */
class RequestLogger implements FastifyBaseLogger {
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  declare silent: LogFn;
  private made: Logger | null = null;

  constructor(
    private readonly parent: Logger,
    private readonly bindingsOf: Bindings,
  ) {}

  /** The real child: the same output (bindings, serializers, redaction) as one made up front. */
  get logger(): Logger {
    return (this.made ??= this.parent.child(this.bindingsOf));
  }

  // Until it is made, the child's level is its parent's (a pino child inherits it).
  get level(): LevelWithSilentOrString {
    return (this.made ?? this.parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.logger.level = level;
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.logger.bindings();
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

for (const method of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const satisfies readonly Method[]) {
  RequestLogger.prototype[method] = function (this: RequestLogger, ...args: Parameters<LogFn>) {
    if (this.isLevelEnabled(method)) this.logger[method](...args);
  } as LogFn;
}
RequestLogger.prototype.silent = (() => {}) as LogFn;

function isPino(logger: FastifyBaseLogger): logger is Logger {
  return typeof (logger as Partial<Logger>).isLevelEnabled === 'function' && typeof (logger as Partial<Logger>).bindings === 'function';
}

/**
 * Fastify's `childLoggerFactory`: a route's own log level or serializers get a child at once, as
 * before; every other request a RequestLogger.
 */
export function requestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  if (opts.level !== undefined || opts.serializers !== undefined || !isPino(logger)) return logger.child(bindings, opts);
  return new RequestLogger(logger, bindings);
}
