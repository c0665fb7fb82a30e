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

/** Idempotent on the event id: what a replay or a batch import may send twice. */
const ON_CONFLICT = ' ON CONFLICT (id, occurred_at) DO NOTHING';

const insertSql = (rows: number, onConflict: string): string => {
  const tuples = Array.from(
    { length: rows },
    (_, r) =>
      `(${AUDIT_INSERT_COLUMNS.map((_c, i) => `$${r * AUDIT_INSERT_COLUMNS.length + i + 1}`).join(', ')})`,
  );
  return `INSERT INTO audit_logs (${AUDIT_INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}${onConflict}`;
};

const SINGLE_ROW_SQL = insertSql(1, ON_CONFLICT);
const SINGLE_ROW_KEY = 'audit_insert';
/**
 * An event built just now in this process (a new id: timeOrderedId): a plain INSERT. `ON CONFLICT` makes
 * PostgreSQL insert speculatively (probe the primary key, insert, then confirm with one more WAL
 * record): ~50 µs, a quarter of the statement's CPU measured in the server (docs/performance.md), for a conflict
 * that cannot happen here; should one ever, the request fails instead of losing its event silently.
 */
const NEW_ROW_SQL = insertSql(1, '');
const NEW_ROW_KEY = 'audit_insert_new';

/** The INSERTs into audit_logs: multi-row and idempotent on the event id (spool replays), or one new event. */
@Injectable()
export class AuditWriter {
  /**
   * The one-row INSERT of a new event as `EXECUTE` of its prepared statement with literal values, to
   * travel with the transaction's COMMIT (TransactionRunner.atCommit); null until insertNew() has
   * prepared it on this connection, or when a value cannot be a literal.
   */
  insertSqlForCommit(manager: EntityManager, row: AuditEventRow): Promise<string | null> {
    return preparedExecuteSql(manager, NEW_ROW_KEY, auditInsertValues(row));
  }

  /**
   * One event built just now (AuditEventFactory: a new id), in the current transaction: parsed and
   * planned once per connection. Not for replays: those go through insert().
   */
  async insertNew(manager: EntityManager, row: AuditEventRow): Promise<void> {
    await preparedQuery(manager, NEW_ROW_KEY, NEW_ROW_SQL, auditInsertValues(row));
  }

  /** Events in multi-row statements, idempotent on their ids (spool replays, batch imports). */
  async insert(manager: EntityManager, rows: AuditEventRow[]): Promise<void> {
    if (rows.length === 1 && manager.queryRunner) {
      // One event (a replay of one, a detached event): parsed and planned once per connection.
      await preparedQuery(manager, SINGLE_ROW_KEY, SINGLE_ROW_SQL, auditInsertValues(rows[0]));
      return;
    }
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + MAX_ROWS_PER_STATEMENT);
      await manager.query(insertSql(chunk.length, ON_CONFLICT), chunk.flatMap(auditInsertValues));
    }
  }
}
