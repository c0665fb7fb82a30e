import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import type { EntityManager } from 'typeorm';
import { preparedExecuteSql, preparedQuery } from '../../database/prepared-statement';
import type { AuditEventRow } from './audit.types';

/** The columns of one event, in insert order (also used by the ingestion benchmark's raw baseline). */
export const AUDIT_INSERT_COLUMNS = [
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

/** Rows per statement: 25 columns × 1000 rows stays far below PostgreSQL's 65,535 parameters. */
const MAX_ROWS_PER_STATEMENT = 1000;

/** One event's values, in AUDIT_INSERT_COLUMNS order. */
export function auditInsertValues(r: AuditEventRow): unknown[] {
  return [
    r.id,
    r.occurredAt,
    r.action,
    r.category,
    r.outcome,
    r.severity,
    r.actorType,
    r.actorId,
    r.actorDisplay,
    r.resourceType,
    r.resourceId,
    r.resourceDisplay,
    r.requestId,
    r.httpMethod,
    r.httpPath,
    r.statusCode,
    r.durationMs,
    r.ipAddress && isIP(r.ipAddress) ? r.ipAddress : null,
    r.userAgent,
    r.changes === null ? null : JSON.stringify(r.changes),
    JSON.stringify(r.metadata),
    r.description,
    r.errorType,
    r.errorMessage,
    r.errorStack,
  ];
}

const insertSql = (rows: number): string => {
  const tuples = Array.from(
    { length: rows },
    (_, r) =>
      `(${AUDIT_INSERT_COLUMNS.map((_c, i) => `$${r * AUDIT_INSERT_COLUMNS.length + i + 1}`).join(', ')})`,
  );
  return `INSERT INTO audit_logs (${AUDIT_INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id, occurred_at) DO NOTHING`;
};

const SINGLE_ROW_SQL = insertSql(1);
const SINGLE_ROW_KEY = 'audit_insert';

/** The one INSERT into audit_logs: multi-row, idempotent on the event id (spool replays). */
@Injectable()
export class AuditWriter {
  /**
   * The one-row INSERT as `EXECUTE` of its prepared statement with literal values, to travel with the
   * transaction's COMMIT (TransactionRunner.atCommit); null until insert() has prepared it on this
   * connection, or when a value cannot be a literal.
   */
  insertSqlForCommit(manager: EntityManager, row: AuditEventRow): Promise<string | null> {
    return preparedExecuteSql(manager, SINGLE_ROW_KEY, auditInsertValues(row));
  }

  async insert(manager: EntityManager, rows: AuditEventRow[]): Promise<void> {
    if (rows.length === 1 && manager.queryRunner) {
      // The request path: one event per statement, parsed and planned once per connection.
      await preparedQuery(manager, SINGLE_ROW_KEY, SINGLE_ROW_SQL, auditInsertValues(rows[0]));
      return;
    }
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + MAX_ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        const base = params.length;
        params.push(...auditInsertValues(row));
        return `(${AUDIT_INSERT_COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`;
      });
      await manager.query(
        `INSERT INTO audit_logs (${AUDIT_INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id, occurred_at) DO NOTHING`,
        params,
      );
    }
  }
}
