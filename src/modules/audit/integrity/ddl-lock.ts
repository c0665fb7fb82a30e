import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode } from '../../../common/errors/error-code';
import { setLocal, type SqlQuery } from '../../../database/local-settings';

/** SQLSTATE lock_not_available: a statement gave up waiting for a lock (lock_timeout). */
export const LOCK_NOT_AVAILABLE = '55P03';

export interface DdlLockOptions {
  /** How long one attempt waits for its locks (lock_timeout), in ms. */
  timeoutMs: number;
  /** Attempts before the error is thrown (at least 1). */
  attempts: number;
}

/** The pause after failed attempt `attempt` (1-based): 0.5 s, doubling, at most 15 s. */
export const ddlRetryPauseMs = (attempt: number): number => Math.min(500 * 2 ** (attempt - 1), 15_000);

/** Whether `e` is PostgreSQL's lock_timeout error (as thrown by pg, or wrapped by TypeORM). */
export function isLockTimeout(e: unknown): boolean {
  return errorCode(e) === LOCK_NOT_AVAILABLE;
}

/**
 * Runs partition DDL (CREATE TABLE … PARTITION OF, DETACH PARTITION, DROP TABLE), which needs an ACCESS
 * EXCLUSIVE lock on audit_logs or audit_chain, without stalling the app behind it. PostgreSQL grants
 * locks in order: while such a statement waits for a long reader (an export streaming a million rows
 * to a slow client, a verification of the whole chain), every later statement on the table waits
 * behind it, the INSERT of every audited request included (measured: an INSERT 4.3 s behind a CREATE
 * … PARTITION OF that waited for a 6-second reader). So each attempt runs in a savepoint with a short
 * `lock_timeout`: when it expires the savepoint is rolled back (the queue moves on at once and the
 * transaction's earlier work is kept), and after a pause (ddlRetryPauseMs) the statements are tried
 * again. After `attempts` the lock timeout is thrown: the job logs it and tries again on its next run.
 * Must run inside a transaction.
 */
export async function runPartitionDdl(
  query: SqlQuery,
  statements: readonly string[],
  options: DdlLockOptions,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await query('SAVEPOINT partition_ddl');
    try {
      const saved = await setLocal(query, [['lock_timeout', `${options.timeoutMs}ms`]]);
      for (const sql of statements) await query(sql);
      await setLocal(query, saved);
      await query('RELEASE SAVEPOINT partition_ddl');
      return;
    } catch (e) {
      if (!isLockTimeout(e) || attempt >= options.attempts) throw e;
      await query('ROLLBACK TO SAVEPOINT partition_ddl');
      await sleep(ddlRetryPauseMs(attempt));
    }
  }
}
