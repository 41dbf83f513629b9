// Typed errors that services throw, and their one mapping to RFC 9457 problem+json.
// Anything that is not an AppError becomes a generic 500: driver messages and stacks never leak.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidKeyError, ObjectNotFoundError, StorageUnavailableError } from '../infra/storage/storage.js';

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, 'Bad Request', detail, errors);
  }
}
export class UnauthorizedError extends AppError {
  constructor(detail = 'Authentication is required: send Authorization: Bearer <token>.') {
    super(401, 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}
export class ForbiddenError extends AppError {
  constructor(detail = 'You are not allowed to do this.') {
    super(403, 'Forbidden', detail);
  }
}
export class NotFoundError extends AppError {
  constructor(detail = 'Not found.') {
    super(404, 'Not Found', detail);
  }
}
export class ConflictError extends AppError {
  constructor(detail: string) {
    super(409, 'Conflict', detail);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(detail: string) {
    super(413, 'Payload Too Large', detail);
  }
}
export class UnprocessableError extends AppError {
  constructor(detail: string, errors?: FieldError[]) {
    super(422, 'Unprocessable Content', detail, errors);
  }
}
export class RateLimitedError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'Too Many Requests', detail, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}
export class UnavailableError extends AppError {
  constructor(detail: string, retryAfterSeconds?: number) {
    super(503, 'Service Unavailable', detail, undefined, retryAfterSeconds === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemType(status: number): string {
  return status >= 500 ? 'about:blank' : `https://nova.dev/problems/${status}`;
}

export function sendProblem(reply: FastifyReply, problem: Omit<Problem, 'type'> & { type?: string }, headers?: Record<string, string>): FastifyReply {
  if (headers) reply.headers(headers);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: problem.type ?? problemType(problem.status), ...problem });
}

/** Turns Fastify's AJV validation output into `{field, message}` pairs. */
function fieldErrors(err: FastifyError): FieldError[] {
  return (err.validation ?? []).map((v) => {
    const base = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = [base, missing].filter(Boolean).join('.') || (err.validationContext ?? 'body');
    return { field, message: v.message ?? 'is invalid' };
  });
}

/**
 * The one mapping of infrastructure errors (object storage's) to typed errors; anything else is
 * returned as it is. Used by the error handler and by the tus hooks, which answer on their own.
 */
export function toAppError(err: unknown): unknown {
  if (err instanceof ObjectNotFoundError) return new NotFoundError(err.message);
  if (err instanceof InvalidKeyError) return new ValidationError(err.message, [{ field: 'key', message: err.reason }]);
  if (err instanceof StorageUnavailableError) return new UnavailableError(`${err.message} Retry shortly.`, err.retryAfterSeconds);
  return err;
}

export function errorHandler(thrown: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = toAppError(thrown) as FastifyError | AppError | Error;
  if (err instanceof AppError) {
    return sendProblem(reply, { status: err.status, title: err.title, detail: err.detail, errors: err.errors, instance: request.url.split('?')[0] }, err.headers);
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const errors = fieldErrors(fe);
    return sendProblem(reply, {
      status: 400,
      title: 'Bad Request',
      detail: `The ${fe.validationContext ?? 'request'} is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`,
      errors,
    });
  }
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  if (status === 500) {
    request.log.error({ err }, 'unhandled error');
    return sendProblem(reply, { status, title: TITLES[500], detail: 'An unexpected error occurred. It has been logged.' });
  }
  // Fastify's own 4xx (malformed JSON, body too large, bad content type): its messages are safe and useful.
  const detail = fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'The request body is not valid JSON.' : fe.message;
  return sendProblem(reply, { status, title: TITLES[status] ?? 'Error', detail });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, { status: 404, title: 'Not Found', detail: `No route for ${request.method} ${request.url.split('?')[0]}.` });
}
