import { finished, pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ExportFormat } from './dto/audit-query.dto';
import { AuditFilters, buildCopySelect, SortOrder } from './audit-query.builder';
import { BINARY_ITEM_COLUMNS, BinaryCopyError, ItemLines } from './audit-export.binary';
import { CSV_COLUMNS } from './audit-export.format';
import { tsText } from '../integrity/canonical';

/*
 * The COPY-based export, streamed with `COPY (SELECT …) TO STDOUT` in index order: for CSV PostgreSQL
 * formats every row and Node only forwards the bytes (LF → CRLF at record ends); for NDJSON and JSON
 * PostgreSQL sends binary rows and ItemLines (audit-export.binary.ts) writes each as the API's item.
 * No row becomes a JS object.
 */

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
  occurredAt: tsText('a.occurred_at'),
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

/**
 * The whole COPY statement of an export (filter values inlined by sqlLiteral): CSV formatted by
 * PostgreSQL; NDJSON and JSON as binary rows that ItemLines writes as items.
 */
export function buildCopyExport(filters: AuditFilters, order: SortOrder, format: ExportFormat): string {
  if (format === 'csv')
    return `COPY (${buildCopySelect(filters, order, CSV_SELECT)}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
  return `COPY (${buildCopySelect(filters, order, BINARY_ITEM_COLUMNS.join(', '))}) TO STDOUT WITH (FORMAT binary)`;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * PostgreSQL ends CSV records with LF; RFC 4180 wants CRLF. A LF outside quotes ends a record (a
 * field holding CR or LF is always quoted), so track the quote parity across chunks and insert a CR
 * before those LFs only. `"` is ASCII and never part of a multi-byte UTF-8 sequence. The scan hops
 * from quote to quote and LF to LF with Buffer#indexOf (memchr): 2-3x faster than a byte loop
 * (0.33-0.55 vs 1.2-1.3 s per 1,000,000 bench rows, 490 MB).
 */
export class CrlfRecords extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const ends: number[] = [];
    const n = chunk.length;
    let quoted = this.quoted;
    let i = 0;
    let lf = chunk.indexOf(LF);
    while (i < n) {
      const quote = chunk.indexOf(QUOTE, i);
      if (quoted) {
        // Inside quotes only the closing quote matters (a doubled "" closes and reopens).
        if (quote < 0) break;
        quoted = false;
        i = quote + 1;
        continue;
      }
      if (lf >= 0 && lf < i) lf = chunk.indexOf(LF, i);
      if (lf >= 0 && (quote < 0 || lf < quote)) {
        ends.push(lf);
        i = lf + 1;
        lf = chunk.indexOf(LF, i);
      } else if (quote >= 0) {
        quoted = true;
        i = quote + 1;
      } else break;
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

const shaperFor = (format: ExportFormat): Transform =>
  format === 'csv' ? new CrlfRecords() : new ItemLines(format === 'json');

export interface CopyResult {
  /** Rows COPY produced (undefined when the client went away first). */
  rows: number | undefined;
  aborted: boolean;
}

/**
 * Runs the COPY on `client` (the request's transaction) and pipes it to `sink` with backpressure,
 * without ending the sink. If the sink goes away mid-stream, or the shaper fails (a stream it cannot
 * read), the rest of the COPY is read and discarded: a pg-copy-streams stream that is destroyed
 * instead stops reading the socket and leaves the connection waiting for ever; draining keeps it (and
 * the transaction, which then rolls back or records the abort) usable. The work left is bounded by
 * AUDIT_EXPORT_MAX_ROWS. A shaper's failure is then rethrown; a client's departure is `aborted`.
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
  let shaperError: Error | undefined;
  copy.on('error', (e: Error) => {
    copyError = e;
    shaper.destroy(e);
  });
  // The shaper's own refusal; a shaper destroyed by the pipeline (the client went away) is not one.
  shaper.on('error', (e: Error) => {
    if (e instanceof BinaryCopyError) shaperError = e;
  });
  copy.pipe(shaper);
  try {
    await pipeline(shaper, sink, { end: false });
    if (copyError) throw copyError;
    return { rows: copy.rowCount, aborted: false };
  } catch (e) {
    if (copyError) throw copyError;
    if (!shaperError && !sink.destroyed && !sink.writableEnded) throw e;
  }
  // The client went away, or the shaper failed: read the rest of the COPY into nothing.
  copy.unpipe(shaper);
  if (!copy.readableEnded) {
    copy.on('data', () => undefined);
    copy.resume();
    // Rejects if the COPY fails meanwhile: the transaction is then rolled back.
    await finished(copy);
  }
  if (shaperError) throw shaperError;
  return { rows: undefined, aborted: true };
}
