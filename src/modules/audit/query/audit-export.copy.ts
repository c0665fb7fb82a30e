import { finished, pipeline } from 'node:stream/promises';
import { PassThrough, Transform, type TransformCallback, type Writable } from 'node:stream';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ExportFormat } from './dto/audit-query.dto';
import { OUTCOME_DISPLAY } from './dto/audit-log.dto';
import { sqlLiteral } from '../../../database/sql-literal';
import { AuditFilters, buildCopySelect, SEALED_JOINED_SQL, SortOrder } from './audit-query.builder';
import { CSV_COLUMNS } from './audit-export.format';

/*
 * The COPY-based export: PostgreSQL formats every row (CSV, or one JSON object per row) and streams it
 * with `COPY (SELECT …) TO STDOUT`; Node only forwards the bytes (CSV: LF → CRLF at record ends; JSON:
 * the array brackets). No row is ever parsed or built in JS.
 */

const TIMESTAMP = `to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A text cell that a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading `'`. */
const guard = (expr: string): string =>
  `CASE WHEN ascii(${expr}) IN (9, 13, 43, 45, 61, 64) THEN '''' || ${expr} ELSE ${expr} END`;

/** JSON text can only start with `-` (a negative number) among the formula characters. */
const guardJson = (col: string): string =>
  `CASE WHEN jsonb_typeof(${col}) = 'number' AND ${col}::text LIKE '-%' THEN '''' || ${col}::text ELSE ${col}::text END`;

/** The CSV cells, in CSV_COLUMNS order (the names are the header). */
const CSV_CELLS: Record<(typeof CSV_COLUMNS)[number], string> = {
  id: 'a.id',
  seq: 'a.seq',
  occurredAt: TIMESTAMP,
  action: guard('a.action'),
  category: guard('a.category'),
  outcome: guard('a.outcome'),
  severity: guard('a.severity'),
  actorType: guard('a.actor_type'),
  actorId: guard('a.actor_id'),
  actorDisplay: guard('a.actor_display'),
  resourceType: guard('a.resource_type'),
  resourceId: guard('a.resource_id'),
  resourceDisplay: guard('a.resource_display'),
  requestId: guard('a.request_id'),
  method: guard('a.http_method'),
  path: guard('a.http_path'),
  statusCode: 'a.status_code',
  durationMs: 'a.duration_ms',
  ip: 'host(a.ip_address)',
  userAgent: guard('a.user_agent'),
  description: guard('a.description'),
  changes: guardJson('a.changes'),
  metadata: guardJson('a.metadata'),
  errorType: guard('a.error_type'),
  errorMessage: guard('a.error_message'),
};

export const CSV_SELECT = CSV_COLUMNS.map((c) => `${CSV_CELLS[c]} AS "${c}"`).join(', ');

/** A piece of a row's JSON text: fixed text, or an SQL expression that yields text (never NULL). */
type Piece = { text: string } | { sql: string };
/** A JSON value as pieces. */
type Json = Piece[];

const text = (t: string): Piece => ({ text: t });
const sql = (expr: string): Piece => ({ sql: expr });

/**
 * The SQL that concatenates `pieces`: adjacent fixed texts become one literal, and the `||` form a
 * balanced tree. A left-deep chain `p1 || p2 || … || pn` copies the growing row text once per piece
 * (quadratic in the pieces); the tree copies each byte about log2(n) times.
 */
function concat(pieces: Json): string {
  const parts: string[] = [];
  let pending: string | undefined;
  for (const p of pieces) {
    if ('text' in p) pending = (pending ?? '') + p.text;
    else {
      if (pending !== undefined) parts.push(sqlLiteral(pending));
      pending = undefined;
      parts.push(p.sql);
    }
  }
  if (pending !== undefined) parts.push(sqlLiteral(pending));
  const tree = (from: number, to: number): string => {
    if (to - from === 1) return parts[from];
    const mid = (from + to) >> 1;
    return `(${tree(from, mid)} || ${tree(mid, to)})`;
  };
  return tree(0, parts.length);
}

/** A nullable value as JSON (to_json escapes exactly like JSON.stringify would need). */
const j = (expr: string): Json => [sql(`coalesce(to_json(${expr})::text, 'null')`)];
/**
 * A NOT NULL text column whose values cannot need a JSON escape (a CHECK constraint limits them to
 * enumerated words or `^[a-z_]+\.[a-z_]+$`), as a JSON string without a to_json() call.
 */
const word = (col: string): Json => [text('"'), sql(col), text('"')];
/** A nullable integer column as a JSON number (its text form), or null. */
const int = (col: string): Json => [sql(`coalesce(${col}::text, 'null')`)];
/** A JSON object of the given values, keys in the given order. */
const object = (fields: [string, Json][]): Json => [
  ...fields.flatMap(([key, value], i): Json => [text(`${i ? ',' : '{'}"${key}":`), ...value]),
  text('}'),
];

const DISPLAY = `CASE a.outcome ${Object.entries(OUTCOME_DISPLAY)
  .map(([outcome, d]) => `WHEN ${sqlLiteral(outcome)} THEN ${sqlLiteral(JSON.stringify(d))}`)
  .join(' ')} ELSE ${concat(
  object([
    ['label', j('a.outcome')],
    ['color', [text('"grey"')]],
  ]),
)} END`;

/**
 * The API's item (toItem) as compact JSON text, built by PostgreSQL: same keys, same order, same
 * values. Concatenating to_json() pieces is about twice as fast as json_build_object (which also pads
 * every `:` with spaces); columns that cannot need escaping (CHECK-constrained words, uuids,
 * integers, inet) are concatenated as they are.
 */
export const ITEM_JSON = concat(
  object([
    ['id', [text('"'), sql('a.id::text'), text('"')]],
    ['seq', [sql('a.seq::text')]],
    ['occurredAt', [text('"'), sql(TIMESTAMP), text('"')]],
    ['action', word('a.action')],
    ['category', word('a.category')],
    ['outcome', word('a.outcome')],
    ['severity', word('a.severity')],
    [
      'actor',
      object([
        ['type', word('a.actor_type')],
        ['id', j('a.actor_id')],
        ['display', j('a.actor_display')],
      ]),
    ],
    [
      'resource',
      object([
        ['type', j('a.resource_type')],
        ['id', j('a.resource_id')],
        ['display', j('a.resource_display')],
      ]),
    ],
    [
      'request',
      object([
        ['id', j('a.request_id')],
        ['method', j('a.http_method')],
        ['path', j('a.http_path')],
        ['statusCode', int('a.status_code')],
        ['durationMs', int('a.duration_ms')],
        // host() of an inet: digits, hex letters, `.` and `:` only.
        ['ip', [sql(`coalesce('"' || host(a.ip_address) || '"', 'null')`)]],
        ['userAgent', j('a.user_agent')],
      ]),
    ],
    ['changes', [sql(`coalesce(a.changes::text, 'null')`)]],
    ['metadata', [sql('a.metadata::text')]],
    ['description', j('a.description')],
    [
      'error',
      [
        sql(
          `CASE WHEN a.error_type IS NOT NULL OR a.error_message IS NOT NULL THEN ${concat(
            object([
              ['type', j('a.error_type')],
              ['message', j('a.error_message')],
              ['stack', j('a.error_stack')],
            ]),
          )} ELSE 'null' END`,
        ),
      ],
    ],
    ['display', [sql(DISPLAY)]],
    // As toItem: covered by the hash chain once the sealer has filled the hash.
    ['sealed', [sql(`CASE WHEN ${SEALED_JOINED_SQL} THEN 'true' ELSE 'false' END`)]],
  ]),
);

/**
 * CSV options that make COPY write one text column verbatim: a value is quoted only if it holds the
 * delimiter, the quote, CR or LF, and JSON text (PostgreSQL's json output) never holds a raw control
 * character (they are escaped as \n, \u0001, …). So each line is exactly the JSON, then LF.
 */
const VERBATIM = `(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;

/** The whole COPY statement of an export (filter values inlined by sqlLiteral). */
export function buildCopyExport(filters: AuditFilters, order: SortOrder, format: ExportFormat): string {
  if (format === 'csv')
    return `COPY (${buildCopySelect(filters, order, CSV_SELECT)}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
  // JSON: every row but the first is preceded by a comma (see JsonArray).
  const value = format === 'json' ? `',' || ${ITEM_JSON}` : ITEM_JSON;
  return `COPY (${buildCopySelect(filters, order, value)}) TO STDOUT WITH ${VERBATIM}`;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * PostgreSQL ends CSV records with LF; RFC 4180 wants CRLF. A LF outside quotes ends a record (a
 * field holding CR or LF is always quoted), so track the quote parity across chunks and insert a CR
 * before those LFs only. `"` is ASCII and never part of a multi-byte UTF-8 sequence.
 */
export class CrlfRecords extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const ends: number[] = [];
    let quoted = this.quoted;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === QUOTE) quoted = !quoted;
      else if (c === LF && !quoted) ends.push(i);
    }
    this.quoted = quoted;
    if (ends.length === 0) return done(null, chunk);
    const out = Buffer.allocUnsafe(chunk.length + ends.length);
    let from = 0;
    let at = 0;
    for (const end of ends) {
      at += chunk.copy(out, at, from, end);
      out[at++] = CR;
      from = end;
    }
    chunk.copy(out, at, from);
    done(null, out);
  }
}

/** `[` + the rows (each but the first starts with a comma, from SQL) + `]`: one JSON array. */
export class JsonArray extends Transform {
  private first = true;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.first) return done(null, chunk);
    this.first = false;
    // The first row's leading comma goes: `[\n{…}\n,{…}\n…]`.
    done(null, Buffer.concat([Buffer.from('[\n'), chunk.subarray(1)]));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.first ? '[]\n' : ']\n');
  }
}

const shaperFor = (format: ExportFormat): Transform =>
  format === 'csv' ? new CrlfRecords() : format === 'json' ? new JsonArray() : new PassThrough();

export interface CopyResult {
  /** Rows COPY produced (undefined when the client went away first). */
  rows: number | undefined;
  aborted: boolean;
}

/**
 * Runs the COPY on `client` (the request's transaction) and pipes it to `sink` with backpressure,
 * without ending the sink. If the sink goes away mid-stream, the rest of the COPY is read and
 * discarded: a pg-copy-streams stream that is destroyed instead stops reading the socket and leaves
 * the connection waiting for ever; draining keeps it (and the transaction) usable. The work left is
 * bounded by AUDIT_EXPORT_MAX_ROWS.
 */
export async function copyExport(
  client: PoolClient,
  sql: string,
  format: ExportFormat,
  sink: Writable,
): Promise<CopyResult> {
  const copy = client.query(copyTo(sql));
  const shaper = shaperFor(format);
  let copyError: Error | undefined;
  copy.on('error', (e: Error) => {
    copyError = e;
    shaper.destroy(e);
  });
  copy.pipe(shaper);
  try {
    await pipeline(shaper, sink, { end: false });
    if (copyError) throw copyError;
    return { rows: copy.rowCount, aborted: false };
  } catch (e) {
    if (copyError) throw copyError;
    if (!sink.destroyed && !sink.writableEnded) throw e;
  }
  // The client went away: read the rest of the COPY into nothing.
  copy.unpipe(shaper);
  if (!copy.readableEnded) {
    copy.on('data', () => undefined);
    copy.resume();
    // Rejects if the COPY fails meanwhile: the transaction is then rolled back.
    await finished(copy);
  }
  return { rows: undefined, aborted: true };
}
