import { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_ONLY_HINT = 'Audit events can never be changed or removed.';

interface PartitionRow {
  name: string;
  bound: string;
}

/** audit_chain's partition for one of audit_logs' (same bounds): audit_logs_p202601 → audit_chain_p202601. */
const chainPartitionName = (logsPartition: string): string =>
  logsPartition.replace(/^audit_logs_/, 'audit_chain_');

/**
 * The hash chain moves out of audit_logs into its own insert-only table (docs/performance.md, "Sealing
 * without UPDATE"). audit_logs is never updated again.
 *
 * Sealing used to UPDATE each event to fill in chain_pos, prev_hash and hash. An UPDATE writes a whole
 * new row version and, as chain_pos is indexed, a new entry in every index of the table, the trigram
 * GIN index included; the old version then has to be vacuumed out of all of them. Measured on the
 * bench's PATCH load: half the WAL of an audited request (6.2 of 6.4 KB vs 0.2 KB unaudited).
 *
 * - audit_chain (chain_pos, seq, occurred_at, prev_hash, hash): one row per sealed event, partitioned
 *   like audit_logs (retention drops both months together). UPDATE, DELETE and TRUNCATE are refused.
 *   (seq, occurred_at) is unique: an event is chained at most once.
 * - audit_pending (seq, occurred_at): the events not chained yet. A statement-level AFTER INSERT trigger
 *   on audit_logs queues every inserted event, in the inserting transaction (so exactly the committed
 *   events are queued); the sealer deletes what it chains. It replaces the partial index of unsealed
 *   events, which every INSERT into audit_logs had to maintain.
 * - audit_logs loses chain_pos, prev_hash, hash, their CHECK and both chain indexes; its immutability
 *   trigger refuses every UPDATE.
 *
 * The hash of an event is unchanged (same canonical form, chain_pos included, now read from
 * audit_chain): chains sealed before this migration verify after it.
 */
export class AuditInsertOnlyChain1763770200000 implements MigrationInterface {
  name = 'AuditInsertOnlyChain1763770200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "audit_chain" (
        "chain_pos" bigint NOT NULL,
        "seq" bigint NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        "prev_hash" bytea NOT NULL,
        "hash" bytea NOT NULL,
        CONSTRAINT "audit_chain_pk" PRIMARY KEY ("chain_pos", "occurred_at"),
        CONSTRAINT "audit_chain_seq_uq" UNIQUE ("seq", "occurred_at"),
        CONSTRAINT "audit_chain_pos_ck" CHECK ("chain_pos" > 0),
        CONSTRAINT "audit_chain_hash_ck" CHECK (octet_length("prev_hash") = 32 AND octet_length("hash") = 32)
      ) PARTITION BY RANGE ("occurred_at")`);
    const partitions = (await q.query(`
      SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_logs'::regclass ORDER BY c.relname`)) as PartitionRow[];
    for (const p of partitions) {
      const name = chainPartitionName(p.name);
      await q.query(`CREATE TABLE "${name}" PARTITION OF "audit_chain" ${p.bound}`);
      await q.query(`CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "${name}"
        FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"()`);
    }
    await q.query(`
      CREATE TRIGGER "audit_chain_no_update_delete" BEFORE UPDATE OR DELETE ON "audit_chain"
      FOR EACH ROW EXECUTE FUNCTION "audit_append_only"()`);
    await q.query(`
      CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "audit_chain"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"()`);
    await q.query(`
      INSERT INTO "audit_chain" ("chain_pos", "seq", "occurred_at", "prev_hash", "hash")
      SELECT "chain_pos", "seq", "occurred_at", "prev_hash", "hash" FROM "audit_logs" WHERE "chain_pos" IS NOT NULL`);

    await q.query(`
      CREATE TABLE "audit_pending" (
        "seq" bigint NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        CONSTRAINT "audit_pending_pk" PRIMARY KEY ("seq")
      )`);
    await q.query(`
      INSERT INTO "audit_pending" ("seq", "occurred_at")
      SELECT "seq", "occurred_at" FROM "audit_logs" WHERE "chain_pos" IS NULL`);
    await q.query(`
      CREATE FUNCTION "audit_logs_enqueue"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "audit_pending" ("seq", "occurred_at") SELECT n."seq", n."occurred_at" FROM "new_events" n;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "audit_logs_enqueue" AFTER INSERT ON "audit_logs"
      REFERENCING NEW TABLE AS "new_events" FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_enqueue"()`);
    // Whoever may insert events may queue them (the trigger runs with the inserting role's rights).
    const grantees = (await q.query(`
      SELECT DISTINCT grantee FROM information_schema.role_table_grants
       WHERE table_schema = current_schema() AND table_name = 'audit_logs' AND privilege_type = 'INSERT'
         AND grantee <> current_user`)) as { grantee: string }[];
    for (const g of grantees) {
      const role = g.grantee === 'PUBLIC' ? 'PUBLIC' : `"${g.grantee}"`;
      await q.query(`GRANT INSERT ON "audit_pending" TO ${role}`);
    }

    await q.query(`DROP INDEX "audit_logs_chain_pos_uq"`);
    await q.query(`DROP INDEX "audit_logs_unsealed_idx"`);
    await q.query(
      `ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_sealed_ck", DROP COLUMN "hash", DROP COLUMN "prev_hash", DROP COLUMN "chain_pos"`,
    );
    await q.query(`
      CREATE OR REPLACE FUNCTION "audit_logs_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege', HINT = '${APPEND_ONLY_HINT}';
      END
      $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "audit_logs" ADD "chain_pos" bigint, ADD "prev_hash" bytea, ADD "hash" bytea`);
    // The chain goes back into audit_logs: the only UPDATE ever allowed, with the trigger out of the way.
    await q.query(`ALTER TABLE "audit_logs" DISABLE TRIGGER "audit_logs_no_update_delete"`);
    await q.query(`
      UPDATE "audit_logs" a SET "chain_pos" = c."chain_pos", "prev_hash" = c."prev_hash", "hash" = c."hash"
        FROM "audit_chain" c WHERE c."seq" = a."seq" AND c."occurred_at" = a."occurred_at"`);
    await q.query(`ALTER TABLE "audit_logs" ENABLE TRIGGER "audit_logs_no_update_delete"`);
    await q.query(`
      ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_sealed_ck" CHECK (
        ("chain_pos" IS NULL AND "prev_hash" IS NULL AND "hash" IS NULL)
        OR ("chain_pos" IS NOT NULL AND octet_length("prev_hash") = 32 AND octet_length("hash") = 32))`);
    await q.query(
      `CREATE UNIQUE INDEX "audit_logs_chain_pos_uq" ON "audit_logs" ("chain_pos", "occurred_at") WHERE "chain_pos" IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "audit_logs_unsealed_idx" ON "audit_logs" ("seq") WHERE "chain_pos" IS NULL`);
    await q.query(`DROP TRIGGER "audit_logs_enqueue" ON "audit_logs"`);
    await q.query(`DROP FUNCTION "audit_logs_enqueue"()`);
    await q.query(`DROP TABLE "audit_pending"`);
    await q.query(`DROP TABLE "audit_chain"`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "audit_logs_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        unsealed record;
      BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD."chain_pos" IS NULL AND OLD."prev_hash" IS NULL AND OLD."hash" IS NULL
           AND NEW."chain_pos" IS NOT NULL AND NEW."prev_hash" IS NOT NULL AND NEW."hash" IS NOT NULL THEN
          unsealed := NEW;
          unsealed."chain_pos" := NULL;
          unsealed."prev_hash" := NULL;
          unsealed."hash" := NULL;
          IF unsealed IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Audit events can never be changed or removed; only the sealer fills in the hash columns, once.';
      END
      $$`);
  }
}
