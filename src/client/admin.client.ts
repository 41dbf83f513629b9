// Admin calls of the typed client: users, invite codes, instance settings and moderation.
import type { AdminUserJson, AdminUserListJson, AuthResultJson, InviteJson, InviteListJson } from '../accounts/accounts.schemas.js';
import type { AdminInstanceJson, PublicInstanceJson, RegistrationMode } from '../instance/instance.schemas.js';
import type { ModerationEntryJson, ModerationListJson } from '../moderation/moderation.schemas.js';
import type { ApiResponse, NovaClient } from './nova-client.js';

// Response shapes come from the server's TypeBox schemas (type-only imports): one contract in code.
export type { RegistrationMode };
export type AdminUserInfo = AdminUserJson;
export type InviteInfo = InviteJson;
export type InstanceInfo = PublicInstanceJson;
export type AdminInstanceInfo = AdminInstanceJson;
export type ModerationEntryInfo = ModerationEntryJson;

export function listUsers(c: NovaClient, q?: { q?: string; limit?: number; offset?: number }): Promise<ApiResponse<AdminUserListJson>> {
  const qs = new URLSearchParams(
    Object.entries(q ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)]),
  );
  return c.get(`/api/v1/admin/users${qs.size ? `?${qs.toString()}` : ''}`);
}

export function updateUser(c: NovaClient, id: string, patch: { disabled?: boolean; role?: 'user' | 'admin' }): Promise<ApiResponse<AdminUserInfo>> {
  return c.request('PATCH', `/api/v1/admin/users/${encodeURIComponent(id)}`, patch);
}

export function createInvite(c: NovaClient, body: { max_uses?: number; expires_in_days?: number } = {}): Promise<ApiResponse<InviteInfo>> {
  return c.post('/api/v1/admin/invites', body);
}

export function listInvites(c: NovaClient): Promise<ApiResponse<InviteListJson>> {
  return c.get('/api/v1/admin/invites');
}

export function deleteInvite(c: NovaClient, code: string): Promise<ApiResponse<unknown>> {
  return c.delete(`/api/v1/admin/invites/${encodeURIComponent(code)}`);
}

export function registerWithInvite(c: NovaClient, username: string, password: string, inviteCode?: string): Promise<ApiResponse<AuthResultJson>> {
  return c.post('/api/v1/auth/register', { username, password, ...(inviteCode === undefined ? {} : { invite_code: inviteCode }) });
}

export function getInstance(c: NovaClient): Promise<ApiResponse<InstanceInfo>> {
  return c.get('/api/v1/instance');
}

export function getAdminInstance(c: NovaClient): Promise<ApiResponse<AdminInstanceInfo>> {
  return c.get('/api/v1/admin/instance');
}

export function updateInstance(c: NovaClient, patch: Partial<InstanceInfo>): Promise<ApiResponse<AdminInstanceInfo>> {
  return c.request('PATCH', '/api/v1/admin/instance', patch);
}

export function moderate(c: NovaClient, body: { target_type: 'video' | 'stream'; target_id: string; action: 'hide' | 'unhide' | 'delete'; reason: string }): Promise<ApiResponse<ModerationEntryInfo>> {
  return c.post('/api/v1/admin/moderation', body);
}

export function moderationLog(c: NovaClient, q: { target_type?: 'video' | 'stream'; target_id?: string; cursor?: string; limit?: number } = {}): Promise<ApiResponse<ModerationListJson>> {
  const qs = new URLSearchParams(
    Object.entries(q)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)]),
  );
  return c.get(`/api/v1/admin/moderation${qs.size ? `?${qs.toString()}` : ''}`);
}
