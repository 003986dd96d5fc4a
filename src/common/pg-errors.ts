/**
 * PostgreSQL errors that the user's input caused, told in the API's own words. PostgreSQL's
 * messages and details (`Key (name)=(x) already exists.`, `invalid input syntax for type
 * bigint`) name tables, columns and SQL types; none of that reaches a client. errors.ts maps
 * every thrown error through describePgError, and services that check for a duplicate name
 * first wrap their insert in conflictOnDuplicate, so the request that loses a race gets the
 * same CONFLICT as one that comes later.
 */

/** What a client sees for a database error its input caused. */
export interface PgUserError {
  code: 'CONFLICT' | 'BAD_USER_INPUT';
  message: string;
}

interface PgErrorFields {
  code?: unknown;
  table?: unknown;
  detail?: unknown;
}

const UNIQUE_VIOLATION = '23505';

function fieldsOf(err: unknown): PgErrorFields {
  return typeof err === 'object' && err !== null ? err : {};
}

/** A table's name as a noun for messages: `routing_policies` → `routing policy`. */
function singular(table: unknown): string {
  if (typeof table !== 'string' || !/^[a-z_]+$/.test(table)) return 'record';
  const words = table.split('_');
  const last = words.pop()!;
  const one =
    last === 'curricula'
      ? 'curriculum'
      : last.endsWith('ies')
        ? `${last.slice(0, -3)}y`
        : last.endsWith('s')
          ? last.slice(0, -1)
          : last;
  return [...words, one].join(' ');
}

/** The columns of a key violation as API field names, read from `Key (a, b_c)=(...)`. */
function keyFields(detail: unknown): string | undefined {
  const match = typeof detail === 'string' ? /^Key \(([a-z0-9_, ]+)\)=/.exec(detail) : null;
  if (!match) return undefined;
  const fields = match[1]
    .split(',')
    .map((c) => c.trim().replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase()));
  return fields.length > 1 ? `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}` : fields[0];
}

/** SQLSTATEs a user's input can cause, with a message of ours for each. */
const DESCRIBE: Record<string, (err: PgErrorFields) => PgUserError> = {
  // unique_violation
  '23505': (err) => {
    const fields = keyFields(err.detail);
    return {
      code: 'CONFLICT',
      message: fields
        ? `A ${singular(err.table)} with the same ${fields} already exists`
        : `A ${singular(err.table)} like this one already exists`,
    };
  },
  // foreign_key_violation: a missing target, or (on delete) rows still pointing at this one.
  '23503': (err) => ({
    code: 'BAD_USER_INPUT',
    message:
      typeof err.detail === 'string' && err.detail.includes('still referenced')
        ? `This ${singular(err.table)} is still in use by other records`
        : `The ${singular(err.table)} refers to something that does not exist`,
  }),
  // check_violation
  '23514': (err) => ({
    code: 'BAD_USER_INPUT',
    message: `A value of the ${singular(err.table)} is outside what is allowed`,
  }),
  // invalid_text_representation
  '22P02': () => ({ code: 'BAD_USER_INPUT', message: 'A value is not in the expected format' }),
  // numeric_value_out_of_range
  '22003': () => ({ code: 'BAD_USER_INPUT', message: 'A number is out of the allowed range' }),
  // string_data_right_truncation
  '22001': () => ({ code: 'BAD_USER_INPUT', message: 'A text is longer than allowed' }),
  // character_not_in_repertoire (NUL or invalid UTF-8 in text) and untranslatable_character
  // (\u0000 in jsonb): the edges refuse these first; this is the backstop.
  '22021': () => ({
    code: 'BAD_USER_INPUT',
    message: 'A text contains a character that cannot be stored (NUL or invalid UTF-8)',
  }),
  '22P05': () => ({
    code: 'BAD_USER_INPUT',
    message: 'A text contains a character that cannot be stored (NUL or invalid UTF-8)',
  }),
  // statement_too_complex: jsonb nested past PostgreSQL's stack depth.
  '54001': () => ({ code: 'BAD_USER_INPUT', message: 'A value is nested too deeply' }),
};

/** The API's description of a database error the input caused, or undefined for any other. */
export function describePgError(err: unknown): PgUserError | undefined {
  const fields = fieldsOf(err);
  const describe = typeof fields.code === 'string' ? DESCRIBE[fields.code] : undefined;
  return describe?.(fields);
}

export function isUniqueViolation(err: unknown): boolean {
  return fieldsOf(err).code === UNIQUE_VIOLATION;
}

/**
 * Runs `work` (an insert after a check that a name is free); when another request inserted the
 * same name in between, the unique violation on `table` becomes `conflict()`: the same error
 * the check gives, instead of a generic one. Violations on other tables keep their own message.
 */
export async function conflictOnDuplicate<T>(
  table: string,
  work: () => Promise<T>,
  conflict: () => Error,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUniqueViolation(err) && fieldsOf(err).table === table) throw conflict();
    throw err;
  }
}

/**
 * SQLSTATEs of a database that went away: admin_shutdown (57P01, a restart), crash_shutdown,
 * cannot_connect_now (starting up or shutting down); class 08 is any connection exception.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
/** Socket errors of a server that is down or was cut off. */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** What pg and pg-pool throw, without a code, for a connection that died or never came. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
];

/**
 * Whether `err` says the database cannot be reached right now (stopped, restarting, cut off),
 * rather than that the request was wrong: such a request may succeed if retried, and is
 * answered SERVICE_UNAVAILABLE (503). Looks through TypeORM's driverError and a cause.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(e.code)) return true;
  }
  if (
    typeof e.message === 'string' &&
    UNAVAILABLE_MESSAGES.some((m) => m.test(e.message as string))
  )
    return true;
  return (
    isDatabaseUnavailable(e.driverError, depth + 1) || isDatabaseUnavailable(e.cause, depth + 1)
  );
}
