import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin audit read API: a trigram index for the free-text search (`q`), indexes for the filters
 * the existing indexes do not serve, and the api_keys table (machine access for SIEM pulls).
 * Reviewed by hand.
 */
export class AuditApi1763769800000 implements MigrationInterface {
  name = 'AuditApi1763769800000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    // The expression must stay identical to AUDIT_SEARCH_EXPRESSION in audit-query.builder.ts.
    await q.query(`
      CREATE INDEX "audit_logs_search_trgm_idx" ON "audit_logs" USING gin (
        ("description" || ' ' || coalesce("actor_display", '') || ' ' || coalesce("resource_display", '')) gin_trgm_ops
      )`);
    await q.query(
      `CREATE INDEX "audit_logs_resource_id_idx" ON "audit_logs" ("resource_id", "occurred_at" DESC)`,
    );
    await q.query(`CREATE INDEX "audit_logs_ip_idx" ON "audit_logs" ("ip_address", "occurred_at" DESC)`);
    await q.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" text NOT NULL,
        "prefix" text NOT NULL,
        "key_hash" text NOT NULL,
        "scopes" text[] NOT NULL,
        "created_by" uuid,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz,
        "revoked_at" timestamptz,
        "last_used_at" timestamptz,
        CONSTRAINT "api_keys_pk" PRIMARY KEY ("id"),
        CONSTRAINT "api_keys_scopes_ck" CHECK ("scopes" <@ ARRAY['audit:read']::text[]),
        CONSTRAINT "api_keys_name_ck" CHECK (char_length("name") BETWEEN 1 AND 100),
        CONSTRAINT "api_keys_key_hash_ck" CHECK ("key_hash" ~ '^[0-9a-f]{64}$')
      )`);
    await q.query(`CREATE UNIQUE INDEX "api_keys_key_hash_uq" ON "api_keys" ("key_hash")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_keys"`);
    await q.query(`DROP INDEX "audit_logs_ip_idx"`);
    await q.query(`DROP INDEX "audit_logs_resource_id_idx"`);
    await q.query(`DROP INDEX "audit_logs_search_trgm_idx"`);
    // pg_trgm stays: other objects (or a DBA) may rely on it, and keeping it is harmless.
  }
}
