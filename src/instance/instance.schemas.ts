// Request and response schemas of the instance settings endpoints.
import { Type, type Static } from 'typebox';

export const RegistrationModeSchema = Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('invite_only')], {
  description: 'open: anyone registers; closed: nobody (but the first admin); invite_only: with an invite code',
});

export const PublicInstance = Type.Object({
  name: Type.String(),
  description: Type.String(),
  registration_mode: RegistrationModeSchema,
});

export const AdminInstance = Type.Object({
  name: Type.String(),
  description: Type.String(),
  registration_mode: RegistrationModeSchema,
  updated_at: Type.Union([Type.String(), Type.Null()]),
  upload_limits: Type.Object(
    {
      max_bytes: Type.Integer({ description: 'UPLOAD_MAX_BYTES' }),
      max_pending_per_user: Type.Integer({ description: 'UPLOAD_MAX_PENDING_PER_USER; 0: no limit' }),
      expiry_seconds: Type.Integer({ description: 'UPLOAD_EXPIRY_SECONDS' }),
    },
    { description: 'Set in the server configuration (environment); shown here for the checklist' },
  ),
  checklist: Type.Array(
    Type.Object({
      key: Type.Union([Type.Literal('name'), Type.Literal('registration_mode'), Type.Literal('upload_limits')]),
      label: Type.String(),
      done: Type.Boolean(),
    }),
    { description: "The first admin's short checklist" },
  ),
});

export const InstancePatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    description: Type.Optional(Type.String({ maxLength: 300 })),
    registration_mode: Type.Optional(RegistrationModeSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type RegistrationMode = Static<typeof RegistrationModeSchema>;
export type PublicInstanceJson = Static<typeof PublicInstance>;
export type AdminInstanceJson = Static<typeof AdminInstance>;
