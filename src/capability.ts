// The shape every capability (accounts, videos, live, chat, …) takes in the composition root:
// HTTP routes, optional background work for the API and/or worker roles, and a clean stop.
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

export type NovaApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface Roles {
  /** Serves HTTP (and RTMP, for live). */
  api: boolean;
  /** Runs queued jobs (transcodes). */
  worker: boolean;
}

export interface Capability {
  name: string;
  /** Registers HTTP routes; called once per app. */
  routes?(app: NovaApp): Promise<void> | void;
  /** Starts background work (relays, workers, servers) for the roles this process has. */
  start?(roles: Roles): Promise<void>;
  /** Stops background work; called in reverse order of start. */
  stop?(): Promise<void>;
}
