// HTTP for the instance's settings: its public identity (home page) and the admin's settings page.
import type { Capability, NovaApp } from '../capability.js';
import type { Container } from '../container.js';
import { requireAdmin } from '../http/auth.js';
import { problems } from '../http/problem.schema.js';
import { AdminInstance, InstancePatchBody, PublicInstance } from './instance.schemas.js';
import type { InstanceSettings } from './instance.service.js';

export function instanceCapability(c: Container): Capability {
  const cfg = c.config;
  const adminView = (s: InstanceSettings) => ({
    name: s.name,
    description: s.description,
    registration_mode: s.registration_mode,
    updated_at: s.updated_at,
    upload_limits: { max_bytes: cfg.uploadMaxBytes, max_pending_per_user: cfg.uploadMaxPendingPerUser, expiry_seconds: cfg.uploadExpirySeconds },
    checklist: [
      { key: 'name' as const, label: 'Name the instance', done: s.configured.name },
      { key: 'registration_mode' as const, label: 'Choose who may register', done: s.configured.registration_mode },
      // Limits come from the configuration; reviewing them is the step, so it is done once the rest is.
      { key: 'upload_limits' as const, label: 'Review the upload limits', done: s.configured.name && s.configured.registration_mode },
    ],
  });
  return {
    name: 'instance',
    routes(app: NovaApp) {
      app.get(
        '/api/v1/instance',
        {
          schema: { tags: ['instance'], summary: "The instance's name, description and registration mode", response: { 200: PublicInstance } },
        },
        async () => {
          const s = await c.instance.get();
          return { name: s.name, description: s.description, registration_mode: s.registration_mode };
        },
      );

      app.get(
        '/api/v1/admin/instance',
        {
          schema: {
            tags: ['admin'],
            security: [{ bearer: [] }],
            summary: "The instance's settings, upload limits and first-run checklist (admin)",
            response: { 200: AdminInstance, ...problems(401, 403) },
          },
        },
        async (req) => {
          requireAdmin(req);
          return adminView(await c.instance.get());
        },
      );

      app.patch(
        '/api/v1/admin/instance',
        {
          schema: {
            tags: ['admin'],
            security: [{ bearer: [] }],
            summary: "Change the instance's name, description or registration mode (admin)",
            body: InstancePatchBody,
            response: { 200: AdminInstance, ...problems(400, 401, 403) },
          },
        },
        async (req) => {
          requireAdmin(req);
          return adminView(await c.instance.update(req.body));
        },
      );
    },
  };
}
