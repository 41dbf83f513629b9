// Request and response schemas of the accounts endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type, type Static } from 'typebox';

export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[a-zA-Z0-9_]+$', description: '3-32 of [a-zA-Z0-9_]' });

export const Credentials = Type.Object({ username: Username, password: Type.String({ minLength: 8, maxLength: 1024 }) }, { additionalProperties: false });

export const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

export const PublicUser = Type.Object({ id: Type.String(), username: Type.String() });
export const Me = Type.Object({ id: Type.String(), username: Type.String(), role: Type.Union([Type.Literal('user'), Type.Literal('admin')]) });
export const AuthResult = Type.Object({ user: Me, token: Type.String() });

export const RegisterBody = Type.Object(
  {
    username: Username,
    password: Type.String({ minLength: 8, maxLength: 1024 }),
    invite_code: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Needed when the instance registers by invite only' })),
  },
  { additionalProperties: false },
);

export const RoleSchema = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

export const AdminUser = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  disabled_at: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

export const AdminUserList = Type.Object({ items: Type.Array(AdminUser), total: Type.Integer({ minimum: 0 }) });

export const AdminUserQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 64, description: 'Part of the username' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

export const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const AdminUserPatch = Type.Object(
  {
    disabled: Type.Optional(Type.Boolean({ description: 'A disabled user cannot sign in; their tokens stop working' })),
    role: Type.Optional(RoleSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Invite = Type.Object({
  code: Type.String(),
  max_uses: Type.Integer(),
  uses: Type.Integer(),
  created_at: Type.String(),
  expires_at: Type.Union([Type.String(), Type.Null()]),
});

export const InviteList = Type.Object({ items: Type.Array(Invite) });

export const CreateInviteBody = Type.Object(
  {
    max_uses: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
  },
  { additionalProperties: false },
);

export const InviteParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type AdminUserJson = Static<typeof AdminUser>;
export type AdminUserListJson = Static<typeof AdminUserList>;
export type InviteJson = Static<typeof Invite>;
export type InviteListJson = Static<typeof InviteList>;
export type MeJson = Static<typeof Me>;
export type AuthResultJson = Static<typeof AuthResult>;
export type PublicUserJson = Static<typeof PublicUser>;
