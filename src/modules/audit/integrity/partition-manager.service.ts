import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../../../database/transaction';
import { AppConfig } from '../../../config/app-config';
import { TransactionRunner } from '../../../database/transaction-runner';
import { AuditClock } from './clock';
import { runPartitionDdl } from './ddl-lock';
import { PARTITION_LOCK_KEY } from './locks';
import { monthPartition, partitionDdl } from './partitions';

/** Months created ahead of the current one. */
export const PARTITIONS_AHEAD = 2;

/** Creates the monthly partitions of audit_logs ahead of time (current month + 2), at start-up and daily. */
@Injectable()
export class PartitionManager {
  private readonly logger = new Logger('AuditPartitions');
  private warned = false;

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    private readonly clock: AuditClock,
    private readonly config: AppConfig,
  ) {}

  /**
   * Creates the missing partitions for now's month and the next two; returns the names created.
   * `attempts` overrides AUDIT_DDL_LOCK_ATTEMPTS (start-up tries once: see AuditIntegrityJobs).
   */
  ensure(now: Date = this.clock.now(), attempts = this.config.auditDdlLock.attempts): Promise<string[]> {
    return this.transactions.run(async () => {
      const tx = this.txHost.tx;
      if (!(await this.ownsAuditLogs())) return [];
      await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
      const created: string[] = [];
      for (let i = 0; i <= PARTITIONS_AHEAD; i++) {
        const p = monthPartition(now, i);
        const [{ exists }] = await tx.query<{ exists: boolean }[]>(
          `SELECT to_regclass(format('%I', $1::text)) IS NOT NULL AS exists`,
          [p.name],
        );
        if (exists) continue;
        await runPartitionDdl((sql, params) => tx.query(sql, params), partitionDdl(p), {
          ...this.config.auditDdlLock,
          attempts,
        });
        created.push(p.name);
      }
      if (created.length) this.logger.log(`created partitions ${created.join(', ')}`);
      return created;
    });
  }

  /**
   * Partition DDL, DETACH and DROP need the table owner's rights. In the least-privilege setup
   * (docs/operations.md) the app role lacks them: the jobs then skip, once-logged, and the instance
   * running as the owner does the work.
   */
  async ownsAuditLogs(): Promise<boolean> {
    const [{ owner }] = await this.txHost.tx.query<{ owner: boolean }[]>(
      `SELECT pg_has_role(current_user, relowner, 'USAGE') AS owner FROM pg_class WHERE oid = 'audit_logs'::regclass`,
    );
    if (!owner && !this.warned) {
      this.warned = true;
      this.logger.warn(
        'not the owner of audit_logs: partition maintenance and retention are left to the owner role',
      );
    }
    return owner;
  }

  /** The partitions of audit_logs (from pg_inherits), oldest first. */
  list(): Promise<string[]> {
    return this.transactions.run(async () => {
      const rows = await this.txHost.tx.query<{ name: string }[]>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_logs'::regclass ORDER BY c.relname`,
      );
      return rows.map((r) => r.name);
    });
  }
}
