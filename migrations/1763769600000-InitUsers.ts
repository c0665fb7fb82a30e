import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitUsers1763769600000 implements MigrationInterface {
  name = 'InitUsers1763769600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" text NOT NULL,
        "display_name" text NOT NULL,
        "role" text NOT NULL DEFAULT 'user',
        "password_hash" text NOT NULL,
        "is_active" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "users_pk" PRIMARY KEY ("id"),
        CONSTRAINT "users_email_lower_ck" CHECK ("email" = lower("email")),
        CONSTRAINT "users_role_ck" CHECK ("role" IN ('admin', 'user'))
      )`);
    await q.query(`CREATE UNIQUE INDEX "users_email_uq" ON "users" ("email")`);
    await q.query(`
      CREATE TABLE "sessions" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        CONSTRAINT "sessions_pk" PRIMARY KEY ("id"),
        CONSTRAINT "sessions_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "sessions_user_id_idx" ON "sessions" ("user_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sessions"`);
    await q.query(`DROP TABLE "users"`);
  }
}
