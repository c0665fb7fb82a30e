import type { AuditItemRow } from './audit-query.builder';
import type { AuditLogItemDto } from './dto/audit-log.dto';
import { OUTCOME_DISPLAY } from './dto/audit-log.dto';

/** One row as the API's item. */
export function toItem(r: AuditItemRow): AuditLogItemDto {
  const display = OUTCOME_DISPLAY[r.outcome as keyof typeof OUTCOME_DISPLAY] ?? {
    label: r.outcome,
    color: 'grey',
  };
  return {
    id: r.id,
    seq: Number(r.seq),
    occurredAt: r.occurred_at_text,
    action: r.action,
    category: r.category,
    outcome: r.outcome,
    severity: r.severity,
    actor: { type: r.actor_type, id: r.actor_id, display: r.actor_display },
    resource: { type: r.resource_type, id: r.resource_id, display: r.resource_display },
    request: {
      id: r.request_id,
      method: r.http_method,
      path: r.http_path,
      statusCode: r.status_code,
      durationMs: r.duration_ms,
      ip: r.ip,
      userAgent: r.user_agent,
    },
    changes: r.changes,
    metadata: r.metadata,
    description: r.description,
    error:
      r.error_type !== null || r.error_message !== null
        ? { type: r.error_type, message: r.error_message, stack: r.error_stack }
        : null,
    display: { label: display.label, color: display.color },
    sealed: r.sealed,
  };
}

export const CSV_COLUMNS = [
  'id',
  'seq',
  'occurredAt',
  'action',
  'category',
  'outcome',
  'severity',
  'actorType',
  'actorId',
  'actorDisplay',
  'resourceType',
  'resourceId',
  'resourceDisplay',
  'requestId',
  'method',
  'path',
  'statusCode',
  'durationMs',
  'ip',
  'userAgent',
  'description',
  'changes',
  'metadata',
  'errorType',
  'errorMessage',
] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One RFC 4180 cell. A value a spreadsheet would run as a formula (starting with = + - @ tab or CR)
 * gets a leading apostrophe; a cell with a comma, quote, CR or LF is quoted, quotes doubled.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let s = typeof value === 'number' ? String(value) : value;
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (cells: (string | number | null)[]): string => `${cells.map(csvCell).join(',')}\r\n`;

export const CSV_HEADER = csvLine([...CSV_COLUMNS]);

export function csvRow(r: AuditItemRow): string {
  return csvLine([
    r.id,
    r.seq,
    r.occurred_at_text,
    r.action,
    r.category,
    r.outcome,
    r.severity,
    r.actor_type,
    r.actor_id,
    r.actor_display,
    r.resource_type,
    r.resource_id,
    r.resource_display,
    r.request_id,
    r.http_method,
    r.http_path,
    r.status_code,
    r.duration_ms,
    r.ip,
    r.user_agent,
    r.description,
    r.changes === null ? null : JSON.stringify(r.changes),
    JSON.stringify(r.metadata),
    r.error_type,
    r.error_message,
  ]);
}
