import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../../../database/transaction';
import { TransactionRunner } from '../../../database/transaction-runner';
import { STATISTICS_LOCK_KEY } from './locks';
import { PartitionManager } from './partition-manager.service';

/** Rows inserted into a partition since its last ANALYZE that make its statistics stale (at least). */
export const STALE_STATISTICS_MIN_ROWS = 5_000;
/** …and at least this share of the partition's rows (autovacuum's own default is 10 %). */
export const STALE_STATISTICS_SHARE = 0.02;

/**
 * Keeps the planner's statistics of the audit partitions fresh. New events all land in the current
 * month's partition, at the newest times, which its statistics know nothing of until the next ANALYZE:
 * autovacuum waits for 10 % of the partition to change (~83,000 rows for a month at 10,000,000 events a
 * year), so an hour's burst stays invisible. The planner then estimates a handful of rows in the newest
 * hour and picks plans for that: a text search's newest slice rechecked every one of 12,676 burst
 * events (13 ms) instead of asking the trigram index (2.9 ms after an ANALYZE; docs/performance.md).
 * This analyzes every partition with at least STALE_STATISTICS_MIN_ROWS and STALE_STATISTICS_SHARE of
 * its rows changed since its last ANALYZE (pg_stat_user_tables.n_mod_since_analyze), one instance at a
 * time; in the least-privilege setup the owner role's instance does it (ANALYZE needs the owner).
 */
@Injectable()
export class AuditStatistics {
  private readonly logger = new Logger('AuditStatistics');

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    private readonly partitions: PartitionManager,
  ) {}

  /** Analyzes the partitions whose statistics are stale; returns their names. */
  refresh(): Promise<string[]> {
    return this.transactions.run(async () => {
      const tx = this.txHost.tx;
      if (!(await this.partitions.ownsAuditLogs())) return [];
      const [{ locked }] = await tx.query<{ locked: boolean }[]>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [STATISTICS_LOCK_KEY],
      );
      if (!locked) return []; // another instance is at it
      const stale = await tx.query<{ name: string }[]>(
        `SELECT c.relname AS name
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_stat_user_tables s ON s.relid = c.oid
          WHERE i.inhparent = 'audit_logs'::regclass
            AND s.n_mod_since_analyze >= greatest($1::bigint, $2::float8 * greatest(c.reltuples, 0))
          ORDER BY c.relname`,
        [STALE_STATISTICS_MIN_ROWS, STALE_STATISTICS_SHARE],
      );
      const names = stale.map((s) => s.name);
      for (const name of names) await tx.query(`ANALYZE "${name.replace(/"/g, '""')}"`);
      if (names.length) this.logger.log(`analyzed ${names.join(', ')}`);
      return names;
    });
  }
}
