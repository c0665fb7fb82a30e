import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail. Reviewed by hand: constraints, indexes for the admin queries, and the trigger that
 * makes the table append-only. Primary key (id, occurred_at) so the table can be range-partitioned
 * by month on occurred_at.
 */
export class AuditLogs1763769700000 implements MigrationInterface {
  name = 'AuditLogs1763769700000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "audit_logs" (
        "id" uuid NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        "seq" bigserial NOT NULL,
        "action" text NOT NULL,
        "category" text NOT NULL,
        "outcome" text NOT NULL,
        "severity" text NOT NULL,
        "actor_type" text NOT NULL,
        "actor_id" text,
        "actor_display" text,
        "resource_type" text,
        "resource_id" text,
        "resource_display" text,
        "request_id" text,
        "http_method" text,
        "http_path" text,
        "status_code" int,
        "duration_ms" int,
        "ip_address" inet,
        "user_agent" text,
        "changes" jsonb,
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "description" text NOT NULL,
        "error_type" text,
        "error_message" text,
        "error_stack" text,
        CONSTRAINT "audit_logs_pk" PRIMARY KEY ("id", "occurred_at"),
        CONSTRAINT "audit_logs_action_ck" CHECK ("action" ~ '^[a-z_]+\\.[a-z_]+$'),
        CONSTRAINT "audit_logs_category_ck" CHECK ("category" IN ('auth', 'user', 'task', 'attachment', 'reminder', 'security', 'audit', 'system', 'error')),
        CONSTRAINT "audit_logs_outcome_ck" CHECK ("outcome" IN ('success', 'failure', 'error')),
        CONSTRAINT "audit_logs_severity_ck" CHECK ("severity" IN ('info', 'warning', 'error', 'critical')),
        CONSTRAINT "audit_logs_actor_type_ck" CHECK ("actor_type" IN ('user', 'system', 'api_key', 'anonymous')),
        CONSTRAINT "audit_logs_actor_id_ck" CHECK ("actor_id" IS NOT NULL OR "actor_type" IN ('system', 'anonymous')),
        CONSTRAINT "audit_logs_user_agent_ck" CHECK (char_length("user_agent") <= 512),
        CONSTRAINT "audit_logs_resource_display_ck" CHECK (char_length("resource_display") <= 200),
        CONSTRAINT "audit_logs_error_stack_ck" CHECK (octet_length("error_stack") <= 16384)
      )`);
    await q.query(`CREATE UNIQUE INDEX "audit_logs_seq_uq" ON "audit_logs" ("seq")`);
    await q.query(
      `CREATE INDEX "audit_logs_occurred_at_idx" ON "audit_logs" ("occurred_at" DESC, "id" DESC)`,
    );
    await q.query(`CREATE INDEX "audit_logs_actor_idx" ON "audit_logs" ("actor_id", "occurred_at" DESC)`);
    await q.query(
      `CREATE INDEX "audit_logs_resource_idx" ON "audit_logs" ("resource_type", "resource_id", "occurred_at" DESC)`,
    );
    await q.query(`CREATE INDEX "audit_logs_action_idx" ON "audit_logs" ("action", "occurred_at" DESC)`);
    await q.query(
      `CREATE INDEX "audit_logs_not_success_idx" ON "audit_logs" ("outcome", "occurred_at" DESC) WHERE "outcome" <> 'success'`,
    );
    await q.query(`CREATE INDEX "audit_logs_request_id_idx" ON "audit_logs" ("request_id")`);
    await q.query(`
      CREATE FUNCTION "audit_logs_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege', HINT = 'Audit events can never be changed or removed.';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "audit_logs_no_update_delete" BEFORE UPDATE OR DELETE ON "audit_logs"
      FOR EACH ROW EXECUTE FUNCTION "audit_logs_immutable"()`);
    await q.query(`
      CREATE TRIGGER "audit_logs_no_truncate" BEFORE TRUNCATE ON "audit_logs"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_immutable"()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_logs"`);
    await q.query(`DROP FUNCTION "audit_logs_immutable"()`);
  }
}
