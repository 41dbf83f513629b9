// Request and response schemas of the accounts endpoints (TypeBox → JSON Schema → OpenAPI).
import { Type } from 'typebox';

export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[a-zA-Z0-9_]+$', description: '3-32 of [a-zA-Z0-9_]' });

export const Credentials = Type.Object(
  { username: Username, password: Type.String({ minLength: 8, maxLength: 1024 }) },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

export const PublicUser = Type.Object({ id: Type.String(), username: Type.String() });
export const Me = Type.Object({ id: Type.String(), username: Type.String(), role: Type.Union([Type.Literal('user'), Type.Literal('admin')]) });
export const AuthResult = Type.Object({ user: Me, token: Type.String() });
