// HTTP for accounts: register, login, logout, me, and the admin's users and invite codes.
// Business rules live in AccountsService.
import { Type } from 'typebox';
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { addressKey } from '../http/address.js';
import { requireAdmin, requireUser, tokenFrom } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import {
  AdminUser,
  AdminUserList,
  AdminUserPatch,
  AdminUserQuery,
  AuthResult,
  CreateInviteBody,
  Invite,
  InviteList,
  InviteParams,
  LoginBody,
  Me,
  RegisterBody,
  UserIdParams,
} from './accounts.schemas.js';

export function accountsCapability(c: Container): Capability {
  return {
    name: 'accounts',
    routes(app: NovaApp) {
      app.post(
        '/api/v1/auth/register',
        {
          schema: {
            tags: ['accounts'],
            summary: 'Create an account (an invite code when registration is by invite only)',
            body: RegisterBody,
            response: { 201: AuthResult, ...problems(400, 403, 409, 429) },
          },
        },
        async (req, reply) => {
          const result = await c.accounts.register(req.body.username, req.body.password, addressKey(req.ip), req.body.invite_code);
          return reply.code(201).send(result);
        },
      );

      app.post(
        '/api/v1/auth/login',
        {
          schema: { tags: ['accounts'], summary: 'Sign in and get a bearer token', body: LoginBody, response: { 200: AuthResult, ...problems(400, 401, 403, 429) } },
        },
        async (req) => c.accounts.login(req.body.username, req.body.password, addressKey(req.ip)),
      );

      app.post(
        '/api/v1/auth/logout',
        {
          schema: { tags: ['accounts'], summary: 'Revoke the current token', security: [{ bearer: [] }], response: { 204: Type.Null({ description: 'No content' }), ...problems(401) } },
        },
        async (req, reply) => {
          requireUser(req);
          await c.accounts.logout(tokenFrom(req) ?? '');
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/api/v1/me',
        {
          schema: { tags: ['accounts'], summary: 'The current user', security: [{ bearer: [] }], response: { 200: Me, ...problems(401) } },
        },
        async (req) => requireUser(req),
      );

      const admin = { tags: ['admin'], security: [{ bearer: [] }] };

      app.get(
        '/api/v1/admin/users',
        {
          schema: { ...admin, summary: 'Users, newest first; q searches usernames (admin)', querystring: AdminUserQuery, response: { 200: AdminUserList, ...problems(400, 401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          return c.accounts.listUsers(req.query.q, req.query.limit, req.query.offset);
        },
      );

      app.patch(
        '/api/v1/admin/users/:id',
        {
          schema: {
            ...admin,
            summary: 'Disable or enable a user, or make or revoke an admin (admin)',
            params: UserIdParams,
            body: AdminUserPatch,
            response: { 200: AdminUser, ...problems(400, 401, 403, 404, 409) },
          },
        },
        async (req) => c.accounts.updateUser(requireAdmin(req), req.params.id, req.body),
      );

      app.get(
        '/api/v1/admin/invites',
        {
          schema: { ...admin, summary: 'Invite codes, newest first (admin)', response: { 200: InviteList, ...problems(401, 403) } },
        },
        async (req) => {
          requireAdmin(req);
          return { items: await c.accounts.listInvites(200) };
        },
      );

      app.post(
        '/api/v1/admin/invites',
        {
          schema: { ...admin, summary: 'Create an invite code (admin)', body: CreateInviteBody, response: { 201: Invite, ...problems(400, 401, 403) } },
        },
        async (req, reply) => {
          const invite = await c.accounts.createInvite(requireAdmin(req), req.body.max_uses, req.body.expires_in_days);
          return reply.code(201).send(invite);
        },
      );

      app.delete(
        '/api/v1/admin/invites/:code',
        {
          schema: { ...admin, summary: 'Revoke an invite code (admin)', params: InviteParams, response: { 204: Type.Null({ description: 'Revoked' }), ...problems(401, 403, 404) } },
        },
        async (req, reply) => {
          requireAdmin(req);
          await c.accounts.deleteInvite(req.params.code);
          return reply.code(204).send(null);
        },
      );
    },
  };
}
