// Which store errors a retry cannot fix: the same write is refused again for the same reason. Each
// says why, for the Event and the JobType condition. Everything else (connections, timeouts,
// throttling, failovers) is transient and retried.

/** A write that the sink refuses before sending it: the mapping and the store do not fit. */
export class SinkConfigError extends Error {
  override readonly name = 'SinkConfigError';
}

// SQLSTATE classes: 22 data exception (bad value for the column), 42 syntax error or access rule
// violation (undefined table or column, wrong type); 23502 not-null and 23514 check violations.
const POSTGRES_CLASSES = ['22', '42'];
const POSTGRES_CODES = new Set(['23502', '23514']);

// MongoDB server error codes for writes that are wrong in themselves.
const MONGO_CODES = new Map<number, string>([
  [2, 'BadValue'], [9, 'FailedToParse'], [14, 'TypeMismatch'], [52, 'DollarPrefixedFieldName'],
  [56, 'EmptyFieldName'], [57, 'DottedFieldName'], [66, 'ImmutableField'], [121, 'DocumentValidationFailure'],
]);

/** Why retrying `error` cannot help, or undefined when it may. */
export function permanentSinkError(error: unknown): string | undefined {
  if (error instanceof SinkConfigError) return 'the mapping does not fit the store';
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (POSTGRES_CLASSES.includes(code.slice(0, 2)) || POSTGRES_CODES.has(code))) {
    return `PostgreSQL SQLSTATE ${code}`;
  }
  if (typeof name === 'string' && name.startsWith('Mongo') && typeof code === 'number' && MONGO_CODES.has(code)) {
    return `MongoDB ${MONGO_CODES.get(code)!} (${code})`;
  }
  if (name === 'MongoInvalidArgumentError') return 'MongoDB refused the document';
  if (name === 'ValidationException') return 'DynamoDB ValidationException';
  return undefined;
}
