import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tamper evidence: the hash chain on audit_logs, signed checkpoints and the archive register.
 *
 * - audit_logs gets chain_pos (position in the chain, assigned by the sealer in sealing order),
 *   prev_hash and hash. The immutability trigger now allows exactly one UPDATE: the three chain
 *   columns from NULL to a value, every other column unchanged. Everything else is still rejected.
 * - audit_checkpoints and audit_archives are append-only (UPDATE, DELETE, TRUNCATE rejected).
 */
export class AuditIntegrity1763769900000 implements MigrationInterface {
  name = 'AuditIntegrity1763769900000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "audit_logs" ADD "chain_pos" bigint, ADD "prev_hash" bytea, ADD "hash" bytea`);
    await q.query(`
      ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_sealed_ck" CHECK (
        ("chain_pos" IS NULL AND "prev_hash" IS NULL AND "hash" IS NULL)
        OR ("chain_pos" IS NOT NULL AND octet_length("prev_hash") = 32 AND octet_length("hash") = 32))`);
    await q.query(`CREATE UNIQUE INDEX "audit_logs_chain_pos_uq" ON "audit_logs" ("chain_pos")`);
    await q.query(`CREATE INDEX "audit_logs_unsealed_idx" ON "audit_logs" ("seq") WHERE "chain_pos" IS NULL`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "audit_logs_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD."chain_pos" IS NULL AND OLD."prev_hash" IS NULL AND OLD."hash" IS NULL
           AND NEW."chain_pos" IS NOT NULL AND NEW."prev_hash" IS NOT NULL AND NEW."hash" IS NOT NULL
           AND (to_jsonb(NEW) - 'chain_pos' - 'prev_hash' - 'hash')
               = (to_jsonb(OLD) - 'chain_pos' - 'prev_hash' - 'hash') THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Audit events can never be changed or removed; only the sealer fills in the hash columns, once.';
      END
      $$`);

    await q.query(`
      CREATE TABLE "audit_checkpoints" (
        "id" uuid NOT NULL,
        "last_pos" bigint NOT NULL,
        "last_seq" bigint NOT NULL,
        "last_hash" bytea NOT NULL,
        "event_count" bigint NOT NULL,
        "created_at" timestamptz NOT NULL,
        "previous_id" uuid,
        "signature" bytea NOT NULL,
        CONSTRAINT "audit_checkpoints_pk" PRIMARY KEY ("id"),
        CONSTRAINT "audit_checkpoints_last_pos_uq" UNIQUE ("last_pos"),
        CONSTRAINT "audit_checkpoints_previous_uq" UNIQUE ("previous_id")
      )`);
    await q.query(`
      CREATE TABLE "audit_archives" (
        "id" uuid NOT NULL,
        "partition_name" text NOT NULL,
        "range_from" timestamptz NOT NULL,
        "range_to" timestamptz NOT NULL,
        "file_name" text NOT NULL,
        "file_sha256" text NOT NULL,
        "row_count" bigint NOT NULL,
        "first_pos" bigint,
        "last_pos" bigint,
        "first_seq" bigint,
        "last_seq" bigint,
        "first_hash" bytea,
        "last_hash" bytea,
        "exits" jsonb NOT NULL DEFAULT '{}',
        "checkpoint_id" uuid,
        "manifest" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL,
        CONSTRAINT "audit_archives_pk" PRIMARY KEY ("id"),
        CONSTRAINT "audit_archives_partition_uq" UNIQUE ("partition_name")
      )`);
    await q.query(`
      CREATE FUNCTION "audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    for (const table of ['audit_checkpoints', 'audit_archives']) {
      await q.query(`
        CREATE TRIGGER "${table}_no_update_delete" BEFORE UPDATE OR DELETE ON "${table}"
        FOR EACH ROW EXECUTE FUNCTION "audit_append_only"()`);
      await q.query(`
        CREATE TRIGGER "${table}_no_truncate" BEFORE TRUNCATE ON "${table}"
        FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"()`);
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_archives"`);
    await q.query(`DROP TABLE "audit_checkpoints"`);
    await q.query(`DROP FUNCTION "audit_append_only"()`);
    await q.query(`
      CREATE OR REPLACE FUNCTION "audit_logs_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege', HINT = 'Audit events can never be changed or removed.';
      END
      $$`);
    await q.query(`DROP INDEX "audit_logs_unsealed_idx"`);
    await q.query(`DROP INDEX "audit_logs_chain_pos_uq"`);
    await q.query(
      `ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_sealed_ck", DROP COLUMN "hash", DROP COLUMN "prev_hash", DROP COLUMN "chain_pos"`,
    );
  }
}
