import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditService } from '../src/modules/audit/audit.service';
import { AuditRetention } from '../src/modules/audit/integrity/audit-retention.service';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { isLockTimeout } from '../src/modules/audit/integrity/ddl-lock';
import { PartitionManager } from '../src/modules/audit/integrity/partition-manager.service';
import { monthPartition } from '../src/modules/audit/integrity/partitions';
import { createTestApp, onServer, TestApp } from './support/test-app';

/**
 * Partition DDL needs an ACCESS EXCLUSIVE lock on audit_logs; while it waits for a long reader (an
 * export, a verification), PostgreSQL queues every later statement on the table behind it. The DDL
 * waits at most AUDIT_DDL_LOCK_TIMEOUT_MS per attempt (integrity/ddl-lock.ts), so the app's own
 * statements go on, and the job gives up after its attempts, leaving nothing half-done. Only on a
 * PostgreSQL server: the embedded database is one session, where nothing runs concurrently.
 */
(onServer() ? describe : describe.skip)('partition DDL behind a long reader: the app goes on', () => {
  let t: TestApp;
  let reader: Client;
  const now = new Date();
  const later = new Date(now.getTime());
  later.setUTCMonth(later.getUTCMonth() + 14);

  beforeAll(async () => {
    t = await createTestApp({
      AUDIT_DDL_LOCK_TIMEOUT_MS: '200',
      AUDIT_DDL_LOCK_ATTEMPTS: '2',
      AUDIT_RETENTION_MONTHS: '13',
    });
    reader = new Client({ connectionString: t.databaseUrl });
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.end();
    await t?.close();
  });

  /** An open transaction that has read audit_logs (an export in progress): it holds ACCESS SHARE. */
  const holdReader = async (): Promise<void> => {
    await reader.query('BEGIN');
    await reader.query('SELECT id FROM audit_logs ORDER BY occurred_at DESC LIMIT 1');
  };

  /** Resolves once some statement waits for a lock on audit_logs (the DDL, queued behind the reader). */
  const ddlWaiting = async (): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'audit_logs'::regclass`,
      );
      if (n > 0) return;
      await sleep(10);
    }
    throw new Error('the DDL never waited for its lock');
  };

  /** `work` finishes while the reader still holds its lock (within 10 s: the DDL waits 0.2 s at a time). */
  const finishesMeanwhile = async (work: Promise<unknown>): Promise<boolean> => {
    const timeout = sleep(10_000, false, { ref: false });
    return Promise.race([work.then(() => true), timeout]);
  };

  /** 'done', 'lock timeout', or the error's text, once `job` settles. */
  const outcomeOf = (job: Promise<unknown>): Promise<string> =>
    job.then(
      () => 'done',
      (e: unknown) => (isLockTimeout(e) ? 'lock timeout' : String(e)),
    );

  const record = (label: string): Promise<unknown> =>
    t.app.get(TransactionRunner).run(() =>
      t.app.get(AuditService).record({
        action: 'system.started',
        actor: { type: 'system', id: null, name: 'System' },
        metadata: { label },
      }),
    );

  it('creating partitions: the audited INSERTs go on while it waits, it gives up after its attempts, then succeeds', async () => {
    const future = new Date(Date.UTC(now.getUTCFullYear() + 5, 0, 15));
    const names = [0, 1, 2].map((i) => monthPartition(future, i).name);
    await holdReader();
    try {
      const outcome = outcomeOf(t.app.get(PartitionManager).ensure(future));
      await ddlWaiting();
      expect(await finishesMeanwhile(record('during the DDL'))).toBe(true);
      expect(await outcome).toBe('lock timeout');
      // Nothing half-done: not even the first month's partition.
      const [{ n }] = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_class WHERE relname = ANY($1::text[])`,
        [names],
      );
      expect(n).toBe(0);
    } finally {
      await reader.query('COMMIT');
    }
    expect(await t.app.get(PartitionManager).ensure(future)).toEqual(names);
  });

  it('retention: reads go on while its DETACH waits; it gives up with nothing archived or dropped, then succeeds', async () => {
    await record('to be archived');
    await t.app.get(AuditSealer).sealOnce();
    // The partitions of `later` exist already, so that only the DETACH at the end needs the lock.
    await t.app.get(PartitionManager).ensure(later);
    const current = monthPartition(now);
    const archive = join(t.workDir, 'audit-archive', `${current.name}.ndjson.gz`);
    await holdReader();
    try {
      const outcome = outcomeOf(t.app.get(AuditRetention).apply(later));
      await ddlWaiting();
      // A read of audit_logs (another connection of the app) is not stuck behind the waiting DETACH.
      expect(await finishesMeanwhile(t.query('SELECT count(*) FROM audit_logs'))).toBe(true);
      expect(await outcome).toBe('lock timeout');
    } finally {
      await reader.query('COMMIT');
    }
    expect(existsSync(archive)).toBe(false);
    expect(await t.query(`SELECT 1 FROM audit_archives`)).toEqual([]);
    const [{ attached }] = await t.query<{ attached: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = 'audit_logs'::regclass AND c.relname = $1) AS attached`,
      [current.name],
    );
    expect(attached).toBe(true);

    const manifests = await t.app.get(AuditRetention).apply(later);
    expect(manifests.map((m) => m.partition)).toEqual([current.name]);
    expect(existsSync(archive)).toBe(true);
  });
});
