// HTTP for accounts: register, login, logout, me. Business rules live in AccountsService.
import { Type } from 'typebox';
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { addressKey } from '../http/address.js';
import { requireUser, tokenFrom } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { AuthResult, Credentials, LoginBody, Me } from './accounts.schemas.js';

export function accountsCapability(c: Container): Capability {
  return {
    name: 'accounts',
    routes(app: NovaApp) {
      app.post('/api/v1/auth/register', {
        schema: { tags: ['accounts'], summary: 'Create an account', body: Credentials, response: { 201: AuthResult, ...problems(400, 409) } },
      }, async (req, reply) => {
        const result = await c.accounts.register(req.body.username, req.body.password, addressKey(req.ip));
        return reply.code(201).send(result);
      });

      app.post('/api/v1/auth/login', {
        schema: { tags: ['accounts'], summary: 'Sign in and get a bearer token', body: LoginBody, response: { 200: AuthResult, ...problems(400, 401, 429) } },
      }, async (req) => c.accounts.login(req.body.username, req.body.password, addressKey(req.ip)));

      app.post('/api/v1/auth/logout', {
        schema: { tags: ['accounts'], summary: 'Revoke the current token', security: [{ bearer: [] }], response: { 204: Type.Null({ description: "No content" }), ...problems(401) } },
      }, async (req, reply) => {
        requireUser(req);
        await c.accounts.logout(tokenFrom(req) ?? '');
        return reply.code(204).send(null);
      });

      app.get('/api/v1/me', {
        schema: { tags: ['accounts'], summary: 'The current user', security: [{ bearer: [] }], response: { 200: Me, ...problems(401) } },
      }, async (req) => requireUser(req));
    },
  };
}
