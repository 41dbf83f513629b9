// The database's table types. Each capability adds its own tables by declaration merging:
//   declare module '../infra/db/schema.js' { interface Tables { videos: VideoTable } }
// so that capabilities stay in their own folders and Kysely still checks every query.
// Conventions, so that SQLite and Postgres behave alike: ids are UUID text, times are ISO-8601 UTC
// strings (timestamptz on Postgres, read back as ISO strings), JSON is text, booleans are 0/1 integers.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Tables {}
