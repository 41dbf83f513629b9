// Admin calls of the typed client: users, invite codes, instance settings and moderation.
import type { ApiResponse, NovaClient } from './nova-client.js';

export type RegistrationMode = 'open' | 'closed' | 'invite_only';

export interface AdminUserInfo {
  id: string;
  username: string;
  role: 'user' | 'admin';
  disabled: boolean;
  disabled_at: string | null;
  created_at: string;
}

export interface InviteInfo {
  code: string;
  max_uses: number;
  uses: number;
  created_at: string;
  expires_at: string | null;
}

export interface InstanceInfo {
  name: string;
  description: string;
  registration_mode: RegistrationMode;
}

export interface AdminInstanceInfo extends InstanceInfo {
  updated_at: string | null;
  upload_limits: { max_bytes: number; max_pending_per_user: number; expiry_seconds: number };
  checklist: Array<{ key: 'name' | 'registration_mode' | 'upload_limits'; label: string; done: boolean }>;
}

export interface ModerationEntryInfo {
  id: string;
  target_type: 'video' | 'stream';
  target_id: string;
  target_title: string;
  target_owner_id: string;
  target_owner: string | null;
  action: 'hide' | 'unhide' | 'delete';
  reason: string;
  moderator_id: string;
  moderator: string | null;
  created_at: string;
}

export function listUsers(c: NovaClient, q?: { q?: string; limit?: number; offset?: number }): Promise<ApiResponse<{ items: AdminUserInfo[]; total: number }>> {
  const qs = new URLSearchParams(Object.entries(q ?? {}).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  return c.get(`/api/v1/admin/users${qs.size ? `?${qs}` : ''}`);
}

export function updateUser(c: NovaClient, id: string, patch: { disabled?: boolean; role?: 'user' | 'admin' }): Promise<ApiResponse<AdminUserInfo>> {
  return c.request('PATCH', `/api/v1/admin/users/${encodeURIComponent(id)}`, patch);
}

export function createInvite(c: NovaClient, body: { max_uses?: number; expires_in_days?: number } = {}): Promise<ApiResponse<InviteInfo>> {
  return c.post('/api/v1/admin/invites', body);
}

export function listInvites(c: NovaClient): Promise<ApiResponse<{ items: InviteInfo[] }>> {
  return c.get('/api/v1/admin/invites');
}

export function deleteInvite(c: NovaClient, code: string): Promise<ApiResponse<unknown>> {
  return c.delete(`/api/v1/admin/invites/${encodeURIComponent(code)}`);
}

export function registerWithInvite(c: NovaClient, username: string, password: string, inviteCode?: string): Promise<ApiResponse<{ user: { id: string; username: string; role: string }; token: string }>> {
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

export function moderationLog(c: NovaClient, q: { target_type?: 'video' | 'stream'; target_id?: string; cursor?: string; limit?: number } = {}): Promise<ApiResponse<{ items: ModerationEntryInfo[]; next_cursor: string | null }>> {
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  return c.get(`/api/v1/admin/moderation${qs.size ? `?${qs}` : ''}`);
}
