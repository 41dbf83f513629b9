// Request and response schemas of the moderation endpoints.
import { Type, type Static } from 'typebox';

const TargetType = Type.Union([Type.Literal('video'), Type.Literal('stream')]);
const Action = Type.Union([Type.Literal('hide'), Type.Literal('unhide'), Type.Literal('delete')]);

export const ModerationBody = Type.Object(
  {
    target_type: TargetType,
    target_id: Type.String({ minLength: 1, maxLength: 64 }),
    action: Action,
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why; kept in the moderation log' }),
  },
  { additionalProperties: false },
);

export const ModerationEntrySchema = Type.Object({
  id: Type.String(),
  target_type: TargetType,
  target_id: Type.String(),
  target_title: Type.String(),
  target_owner_id: Type.String(),
  target_owner: Type.Union([Type.String(), Type.Null()], { description: 'Username of the owner, null if the account is gone' }),
  action: Action,
  reason: Type.String(),
  moderator_id: Type.String(),
  moderator: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

export const ModerationList = Type.Object({ items: Type.Array(ModerationEntrySchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const ModerationQuery = Type.Object(
  {
    target_type: Type.Optional(TargetType),
    target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'next_cursor of the previous page' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  },
  { additionalProperties: false },
);

// Named response types, imported (type-only) by the typed client and the web app: a renamed field
// here breaks their type check.
export type ModerationEntryJson = Static<typeof ModerationEntrySchema>;
export type ModerationListJson = Static<typeof ModerationList>;
