import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search index keeps at most 1 MB of new entries in its pending list (`gin_pending_list_limit`,
 * default 4 MB), in every partition, present and future (a partition's index takes the partitioned
 * index's options). A GIN index with `fastupdate` (the default) appends each new row's ~70 entries to
 * an unsorted pending list and merges it into the index when it outgrows the limit (or when VACUUM
 * runs); every search of the partition reads the whole list meanwhile. Measured on a 2,000,000-row bench
 * database: 315 pending pages cost each bitmap scan of the newest partition ~3.5 ms (0.2–0.5 ms with
 * the list merged), and a text search scans that partition in up to four statements. At 1 MB an insert
 * costs the same as at 4 MB (the merge still batches ~1,000 rows; 512 kB: +8 %, 256 kB: +25 % of the
 * INSERT's CPU); see docs/performance.md. PostgreSQL cannot change a partitioned index's options, so
 * the index is rebuilt with them: same name, same columns, so `q` matches exactly what it matched.
 * Reviewed by hand.
 */
export class AuditSearchPendingLimit1763770400000 implements MigrationInterface {
  name = 'AuditSearchPendingLimit1763770400000';

  public async up(q: QueryRunner): Promise<void> {
    await this.rebuild(q, 'WITH (gin_pending_list_limit = 1024)');
  }

  public async down(q: QueryRunner): Promise<void> {
    await this.rebuild(q, '');
  }

  /** Dropped first, so that the partitions' indexes get back their generated names. */
  private async rebuild(q: QueryRunner, options: string): Promise<void> {
    await q.query(`DROP INDEX "audit_logs_search_idx"`);
    // Both expressions must stay identical to AUDIT_SEARCH_HOUR and AUDIT_SEARCH_EXPRESSION in
    // audit-query.builder.ts.
    await q.query(`
      CREATE INDEX "audit_logs_search_idx" ON "audit_logs" USING gin (
        date_trunc('hour', "occurred_at" AT TIME ZONE 'UTC'),
        ("description" || ' ' || coalesce("actor_display", '') || ' ' || coalesce("resource_display", '')) gin_trgm_ops
      ) ${options}`);
  }
}
