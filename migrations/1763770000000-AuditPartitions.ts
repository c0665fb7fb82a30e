import { MigrationInterface, QueryRunner } from 'typeorm';

const PARTITION_KEY_ADDED = 'audit: occurred_at added for partitioning';

interface IndexDef {
  indexname: string;
  indexdef: string;
  is_unique: boolean;
  comment: string | null;
}

/** Inserts `, occurred_at` at the end of the key column list of a CREATE INDEX statement. */
function addPartitionKey(def: string): string {
  const open = def.indexOf('(', def.indexOf(' USING '));
  let depth = 0;
  for (let i = open; i < def.length; i++) {
    if (def[i] === '(') depth++;
    else if (def[i] === ')' && --depth === 0) return `${def.slice(0, i)}, occurred_at${def.slice(i)}`;
  }
  throw new Error(`Cannot parse index definition: ${def}`);
}

/** Range bounds (UTC) of the month containing `d`, as SQL literals, and the partition name. */
function month(d: Date): { name: string; from: string; to: string } {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const from = new Date(Date.UTC(y, m, 1));
  const to = new Date(Date.UTC(y, m + 1, 1));
  const name = `audit_logs_p${y}${String(m + 1).padStart(2, '0')}`;
  return { name, from: from.toISOString(), to: to.toISOString() };
}

/**
 * Converts audit_logs into a table range-partitioned by month on occurred_at, keeping every row, its
 * seq (the seq column keeps using the same sequence) and its chain. Generic over what other
 * migrations added: every index of the old table is recreated on the parent from pg_indexes (a
 * unique index gets occurred_at appended, as PostgreSQL requires the partition key in it), PK/UNIQUE
 * constraints from pg_constraint, triggers from pg_trigger, table and column grants from the catalog.
 * Partitions: one per month from the oldest row to the current month + 2, plus a DEFAULT partition;
 * each gets the TRUNCATE trigger (TRUNCATE of a partition bypasses the parent's statement trigger).
 * The app's PartitionManager creates later months the same way.
 */
export class AuditPartitions1763770000000 implements MigrationInterface {
  name = 'AuditPartitions1763770000000';

  public async up(q: QueryRunner): Promise<void> {
    await this.rebuild(q, 'partitioned');
  }

  public async down(q: QueryRunner): Promise<void> {
    await this.rebuild(q, 'plain');
  }

  private async rebuild(q: QueryRunner, target: 'partitioned' | 'plain'): Promise<void> {
    await q.query(`LOCK TABLE "audit_logs" IN ACCESS EXCLUSIVE MODE`);
    const indexes = (await q.query(`
      SELECT i.indexname, i.indexdef, x.indisunique AS is_unique,
             obj_description(format('%I.%I', i.schemaname, i.indexname)::regclass, 'pg_class') AS comment
        FROM pg_indexes i
        JOIN pg_index x ON x.indexrelid = format('%I.%I', i.schemaname, i.indexname)::regclass
       WHERE i.schemaname = current_schema() AND i.tablename = 'audit_logs'
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`)) as IndexDef[];
    const constraints = (await q.query(`
      SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = 'audit_logs'::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname`)) as {
      conname: string;
      def: string;
    }[];
    const triggers = (await q.query(`
      SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger
       WHERE tgrelid = 'audit_logs'::regclass AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname`)) as {
      tgname: string;
      def: string;
    }[];
    const grants = (await q.query(`
      SELECT grantee, privilege_type FROM information_schema.role_table_grants
       WHERE table_schema = current_schema() AND table_name = 'audit_logs' AND grantee <> current_user`)) as {
      grantee: string;
      privilege_type: string;
    }[];
    const columnGrants = (await q.query(`
      SELECT grantee, privilege_type, column_name FROM information_schema.column_privileges
       WHERE table_schema = current_schema() AND table_name = 'audit_logs' AND grantee <> current_user
         AND (grantee, privilege_type) NOT IN (
           SELECT grantee, privilege_type FROM information_schema.role_table_grants
            WHERE table_schema = current_schema() AND table_name = 'audit_logs')`)) as {
      grantee: string;
      privilege_type: string;
      column_name: string;
    }[];

    // Free the names: index names are per schema, constraint names are kept on the old table renamed.
    for (const ix of indexes) await q.query(`DROP INDEX "${ix.indexname}"`);
    await q.query(`ALTER TABLE "audit_logs" RENAME TO "audit_logs_old"`);
    for (const c of constraints)
      await q.query(`ALTER TABLE "audit_logs_old" RENAME CONSTRAINT "${c.conname}" TO "${c.conname}_old"`);

    await q.query(`
      CREATE TABLE "audit_logs" (LIKE "audit_logs_old" INCLUDING DEFAULTS INCLUDING CONSTRAINTS
        INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED)
      ${target === 'partitioned' ? 'PARTITION BY RANGE ("occurred_at")' : ''}`);
    for (const c of constraints)
      await q.query(`ALTER TABLE "audit_logs" ADD CONSTRAINT "${c.conname}" ${c.def}`);
    for (const ix of indexes) {
      if (target === 'partitioned' && ix.is_unique && !/\boccurred_at\b/.test(ix.indexdef)) {
        await q.query(addPartitionKey(ix.indexdef));
        await q.query(`COMMENT ON INDEX "${ix.indexname}" IS '${PARTITION_KEY_ADDED}'`);
      } else if (target === 'plain' && ix.comment === PARTITION_KEY_ADDED) {
        await q.query(ix.indexdef.replace(/, occurred_at\)/, ')'));
      } else {
        await q.query(ix.indexdef);
      }
    }
    for (const t of triggers) await q.query(t.def);
    const role = (r: string): string => (r === 'PUBLIC' ? r : `"${r}"`);
    for (const g of grants) await q.query(`GRANT ${g.privilege_type} ON "audit_logs" TO ${role(g.grantee)}`);
    for (const g of columnGrants)
      await q.query(`GRANT ${g.privilege_type} ("${g.column_name}") ON "audit_logs" TO ${role(g.grantee)}`);

    if (target === 'partitioned') {
      const [{ oldest }] = (await q.query(`SELECT min("occurred_at") AS oldest FROM "audit_logs_old"`)) as {
        oldest: Date | null;
      }[];
      const now = new Date();
      const start = oldest && oldest < now ? oldest : now;
      const cursor = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1));
      const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
      for (; cursor <= last; cursor.setUTCMonth(cursor.getUTCMonth() + 1)) {
        const p = month(cursor);
        await q.query(
          `CREATE TABLE "${p.name}" PARTITION OF "audit_logs" FOR VALUES FROM ('${p.from}') TO ('${p.to}')`,
        );
        await q.query(`CREATE TRIGGER "audit_logs_no_truncate" BEFORE TRUNCATE ON "${p.name}"
          FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_immutable"()`);
      }
      await q.query(`CREATE TABLE "audit_logs_default" PARTITION OF "audit_logs" DEFAULT`);
      await q.query(`CREATE TRIGGER "audit_logs_no_truncate" BEFORE TRUNCATE ON "audit_logs_default"
        FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_immutable"()`);
    }

    await q.query(`INSERT INTO "audit_logs" SELECT * FROM "audit_logs_old"`);
    const [{ seq }] = (await q.query(`SELECT pg_get_serial_sequence('audit_logs_old', 'seq') AS seq`)) as {
      seq: string;
    }[];
    await q.query(`ALTER SEQUENCE ${seq} OWNED BY "audit_logs"."seq"`);
    await q.query(`DROP TABLE "audit_logs_old" CASCADE`);
  }
}
