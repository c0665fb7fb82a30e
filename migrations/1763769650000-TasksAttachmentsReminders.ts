import { MigrationInterface, QueryRunner } from 'typeorm';

export class TasksAttachmentsReminders1763769650000 implements MigrationInterface {
  name = 'TasksAttachmentsReminders1763769650000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "tasks" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "title" text NOT NULL,
        "description" text,
        "status" text NOT NULL DEFAULT 'todo',
        "priority" text NOT NULL DEFAULT 'medium',
        "due_at" timestamptz,
        "owner_id" uuid NOT NULL,
        "assignee_id" uuid,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "tasks_pk" PRIMARY KEY ("id"),
        CONSTRAINT "tasks_title_ck" CHECK (char_length("title") BETWEEN 1 AND 200),
        CONSTRAINT "tasks_description_ck" CHECK (char_length("description") <= 10000),
        CONSTRAINT "tasks_status_ck" CHECK ("status" IN ('todo', 'in_progress', 'done')),
        CONSTRAINT "tasks_priority_ck" CHECK ("priority" IN ('low', 'medium', 'high')),
        CONSTRAINT "tasks_owner_id_fk" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE,
        CONSTRAINT "tasks_assignee_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "users"("id") ON DELETE SET NULL
      )`);
    // The list queries: a user's own tasks, tasks assigned to a user, everything newest first (admin).
    await q.query(`CREATE INDEX "tasks_owner_id_idx" ON "tasks" ("owner_id", "created_at")`);
    await q.query(`CREATE INDEX "tasks_assignee_id_idx" ON "tasks" ("assignee_id", "created_at")`);
    await q.query(`CREATE INDEX "tasks_created_at_idx" ON "tasks" ("created_at", "id")`);

    await q.query(`
      CREATE TABLE "attachments" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "task_id" uuid NOT NULL,
        "filename" text NOT NULL,
        "content_type" text NOT NULL,
        "size" bigint NOT NULL,
        "sha256" text NOT NULL,
        "uploaded_by" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "attachments_pk" PRIMARY KEY ("id"),
        CONSTRAINT "attachments_size_ck" CHECK ("size" > 0),
        CONSTRAINT "attachments_sha256_ck" CHECK ("sha256" ~ '^[0-9a-f]{64}$'),
        CONSTRAINT "attachments_filename_ck" CHECK (char_length("filename") BETWEEN 1 AND 255),
        CONSTRAINT "attachments_task_id_fk" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "attachments_task_id_idx" ON "attachments" ("task_id", "created_at")`);

    await q.query(`
      CREATE TABLE "reminders" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "task_id" uuid NOT NULL,
        "remind_at" timestamptz NOT NULL,
        "note" text,
        "sent_at" timestamptz,
        "created_by" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "reminders_pk" PRIMARY KEY ("id"),
        CONSTRAINT "reminders_note_ck" CHECK (char_length("note") <= 500),
        CONSTRAINT "reminders_task_id_fk" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "reminders_task_id_idx" ON "reminders" ("task_id", "remind_at")`);
    // What the dispatcher polls: unsent reminders by due time.
    await q.query(`CREATE INDEX "reminders_due_idx" ON "reminders" ("remind_at") WHERE "sent_at" IS NULL`);

    await q.query(`
      CREATE TABLE "notifications" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "kind" text NOT NULL,
        "task_id" uuid NOT NULL,
        "reminder_id" uuid NOT NULL,
        "title" text NOT NULL,
        "body" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "read_at" timestamptz,
        CONSTRAINT "notifications_pk" PRIMARY KEY ("id"),
        CONSTRAINT "notifications_kind_ck" CHECK ("kind" IN ('reminder')),
        CONSTRAINT "notifications_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "notifications_user_id_idx" ON "notifications" ("user_id", "created_at")`);
    // A reminder is delivered at most once, whatever the number of dispatchers.
    await q.query(`CREATE UNIQUE INDEX "notifications_reminder_id_uq" ON "notifications" ("reminder_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notifications"`);
    await q.query(`DROP TABLE "reminders"`);
    await q.query(`DROP TABLE "attachments"`);
    await q.query(`DROP TABLE "tasks"`);
  }
}
