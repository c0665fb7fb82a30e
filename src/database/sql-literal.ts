import { escapeLiteral } from 'pg';

/**
 * A value as a SQL literal, for statements that cannot take bind parameters: `COPY (SELECT …) TO
 * STDOUT`, and a statement sent with others in one simple-protocol message (TransactionRunner.atCommit).
 * Strict on purpose: strings go through pg's escapeLiteral (quotes doubled; with a
 * backslash, an `E''` literal with backslashes doubled, so the result is the same whatever
 * standard_conforming_strings says), arrays become `ARRAY[…]` of such literals, numbers must be finite,
 * and anything else (objects, undefined, NUL characters) is refused rather than guessed.
 */
export function sqlLiteral(value: unknown): string {
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new Error('sqlLiteral: NUL character');
    return escapeLiteral(value).trim();
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('sqlLiteral: not a finite number');
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'NULL';
  if (Array.isArray(value)) return value.length === 0 ? `'{}'` : `ARRAY[${value.map(sqlLiteral).join(', ')}]`;
  throw new Error(`sqlLiteral: unsupported value of type ${typeof value}`);
}

/**
 * A LIMIT as SQL text, for a prepared statement meant to be cached with a generic plan: with `LIMIT $n`
 * PostgreSQL costs a generic plan for a tenth of the rows and its plan cache keeps planning every call
 * (see docs/performance.md). Only a positive integer may be inlined.
 */
export function sqlLimit(n: number): string {
  if (!(Number.isSafeInteger(n) && n > 0))
    throw new Error(`an inline LIMIT must be a positive integer, not ${n}`);
  return String(n);
}
