import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The canonical serialisation of an audit event: the ONE definition the sealer, the verifier, the
 * archiver and the offline archive check all use.
 *
 * - Every stored field except the hash columns, in the fixed order of CANONICAL_FIELDS.
 * - Each value is PostgreSQL's own text form, selected by CANONICAL_SELECT (never a JS re-rendering):
 *   bigint/int as decimal text, uuid lower-case, timestamptz as UTC with microseconds
 *   (`2026-01-02T03:04:05.678901Z`), inet via `::text` (`127.0.0.1/32`), jsonb via its PostgreSQL text
 *   form (key order and spacing normalised by jsonb), text as stored. SQL NULL is JSON null.
 * - The canonical string is `JSON.stringify(["audit-event/v1", v1, v2, …])`: unambiguous, since every
 *   value is a JSON string or null.
 * - hash = SHA-256(prev_hash ‖ UTF-8(canonical string)); prev_hash of the first event is 32 zero bytes.
 */
export const CANONICAL_FIELDS = [
  'chain_pos',
  'seq',
  'id',
  'occurred_at',
  'action',
  'category',
  'outcome',
  'severity',
  'actor_type',
  'actor_id',
  'actor_display',
  'resource_type',
  'resource_id',
  'resource_display',
  'request_id',
  'http_method',
  'http_path',
  'status_code',
  'duration_ms',
  'ip_address',
  'user_agent',
  'changes',
  'metadata',
  'description',
  'error_type',
  'error_message',
  'error_stack',
] as const;

export type CanonicalField = (typeof CANONICAL_FIELDS)[number];
export type CanonicalRow = Record<CanonicalField, string | null>;

/** A row as read for hashing: the canonical text fields plus the stored hash columns. */
export interface ChainRow extends CanonicalRow {
  prev_hash: Buffer | null;
  hash: Buffer | null;
}

export const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** PostgreSQL text form of a timestamptz, UTC with microseconds. */
export const tsText = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', ${UTC_MICROS})`;

const CASTS: Partial<Record<CanonicalField, string>> = {
  seq: 'seq::text',
  id: 'id::text',
  occurred_at: tsText('occurred_at'),
  status_code: 'status_code::text',
  duration_ms: 'duration_ms::text',
  ip_address: 'ip_address::text',
  changes: 'changes::text',
  metadata: 'metadata::text',
};

/**
 * The SQL expression giving one field's canonical text (text columns as stored): the event's columns
 * from audit_logs (`alias`), chain_pos from its audit_chain row (`chain`), NULL while it has none.
 */
function fieldText(field: CanonicalField, alias: string, chain: string | null): string {
  if (field === 'chain_pos') return chain ? `${chain}.chain_pos::text` : 'NULL::text';
  const column = `${alias}.${field}`;
  const cast = CASTS[field];
  return cast ? cast.replace(new RegExp(`\\b${field}\\b`), column) : column;
}

/**
 * The SELECT list producing a ChainRow: the event (audit_logs AS `alias`) with its chain columns from
 * audit_chain AS `chain`, or NULL chain columns without `chain` (an event being sealed).
 */
export function canonicalSelect(alias: string, chain: string | null = null): string {
  const cols = CANONICAL_FIELDS.map((f) => `${fieldText(f, alias, chain)} AS ${f}`);
  const hashes = chain
    ? [`${chain}.prev_hash`, `${chain}.hash`]
    : ['NULL::bytea AS prev_hash', 'NULL::bytea AS hash'];
  return [...cols, ...hashes].join(', ');
}

export const GENESIS_HASH = Buffer.alloc(32);
const EVENT_TAG = 'audit-event/v1';

/**
 * The canonical string computed by PostgreSQL, from the same field list and casts as canonicalSelect:
 * `array_to_json(text[])` renders `["audit-event/v1","v1",null,…]` without spaces and escapes strings
 * as JSON.stringify does (`\"`, `\\`, `\b\f\n\r\t`, other control characters as lower-case
 * `\u00xx`, everything else, DEL and non-ASCII included, as is). test/audit-canonical-sql.e2e-spec.ts
 * checks that it equals canonicalEvent() byte for byte over hostile values.
 */
export function canonicalEventSql(alias: string, chain: string): string {
  return `array_to_json(ARRAY['${EVENT_TAG}', ${CANONICAL_FIELDS.map((f) => fieldText(f, alias, chain)).join(', ')}]::text[])::text`;
}

/**
 * eventHash() computed by PostgreSQL: sha256(prev_hash ‖ UTF-8(canonical string)), a bytea, for the
 * event `alias` (audit_logs) chained by the audit_chain row `chain`.
 */
export function eventHashSql(alias: string, chain: string): string {
  return `sha256(${chain}.prev_hash || convert_to(${canonicalEventSql(alias, chain)}, 'UTF8'))`;
}

export function canonicalEvent(row: CanonicalRow): string {
  return JSON.stringify([EVENT_TAG, ...CANONICAL_FIELDS.map((f) => row[f] ?? null)]);
}

export function eventHash(prevHash: Buffer, row: CanonicalRow): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalEvent(row), 'utf8').digest();
}

/** A Date (millisecond precision) in the same text form as tsText. */
export const isoMicros = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export interface CheckpointFields {
  id: string;
  lastPos: string;
  lastSeq: string;
  lastHash: Buffer;
  eventCount: string;
  /** UTC with microseconds (isoMicros / tsText). */
  createdAt: string;
  previousId: string | null;
  previousSignature: Buffer | null;
}

const CHECKPOINT_TAG = 'audit-checkpoint/v1';

/** The string a checkpoint's HMAC covers; it carries the previous checkpoint's signature (a chain). */
export function canonicalCheckpoint(c: CheckpointFields): string {
  return [
    CHECKPOINT_TAG,
    c.id,
    c.lastPos,
    c.lastSeq,
    c.lastHash.toString('hex'),
    c.eventCount,
    c.createdAt,
    c.previousId ?? '',
    c.previousSignature?.toString('hex') ?? '',
  ].join('|');
}

export function signCheckpoint(key: string, c: CheckpointFields): Buffer {
  return createHmac('sha256', key).update(canonicalCheckpoint(c), 'utf8').digest();
}

export function checkpointSignatureValid(key: string, c: CheckpointFields, signature: Buffer): boolean {
  const expected = signCheckpoint(key, c);
  return expected.length === signature.length && timingSafeEqual(expected, signature);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
