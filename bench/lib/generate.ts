import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { withClient } from './db';
import { fmtInt, nowMs } from './stats';
import { monthPartition, partitionDdl } from '../../src/modules/audit/integrity/partitions';

/** 20 actions (valid catalogue names) with their categories and the resource they act on. */
export const GEN_ACTIONS: Array<[action: string, category: string, resourceType: string]> = [
  ['task.updated', 'task', 'task'],
  ['auth.login', 'auth', 'user'],
  ['task.created', 'task', 'task'],
  ['attachment.downloaded', 'attachment', 'attachment'],
  ['audit.viewed', 'audit', 'audit_log'],
  ['task.deleted', 'task', 'task'],
  ['attachment.uploaded', 'attachment', 'attachment'],
  ['reminder.sent', 'reminder', 'reminder'],
  ['auth.logout', 'auth', 'user'],
  ['reminder.created', 'reminder', 'reminder'],
  ['user.updated', 'user', 'user'],
  ['auth.login_failed', 'auth', 'user'],
  ['access.denied', 'security', 'task'],
  ['attachment.deleted', 'attachment', 'attachment'],
  ['reminder.deleted', 'reminder', 'reminder'],
  ['user.created', 'user', 'user'],
  ['user.role_changed', 'user', 'user'],
  ['user.password_changed', 'user', 'user'],
  ['user.deactivated', 'user', 'user'],
  ['user.deleted', 'user', 'user'],
];

export const GEN_WORDS = [
  'Pay rent',
  'Renew TLS certificate',
  'Quarterly report',
  'Invoice',
  'Budget review',
  'Onboarding checklist',
  'Security audit',
  'Vendor contract',
  'Release notes',
  'Board meeting',
  'Payroll run',
  'Incident postmortem',
  'Customer escalation',
  'Office move',
  'Tax filing',
  'Hiring plan',
];

/** The actor id (a uuid) of generated actor number k (0 … 999; 0–4 are the heavy ones). */
export const actorId = (k: number): string => md5Uuid(`actor-${k}`);
export const resourceId = (k: number): string => md5Uuid(`resource-${k}`);

function md5Uuid(s: string): string {
  const h = createHash('md5').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface DroppedIndex {
  name: string;
  def: string;
}

/**
 * Bulk load aid: drops the secondary indexes of audit_logs (not those behind constraints, not `keep`),
 * returning their definitions from the catalogue so that whatever the migrations created is rebuilt
 * exactly afterwards (much faster than maintaining them row by row).
 */
export async function dropSecondaryIndexes(c: Client, keep: string[] = []): Promise<DroppedIndex[]> {
  const indexes = (
    await c.query<DroppedIndex>(`
      SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.oid = 'public.audit_logs'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`)
  ).rows.filter((ix) => !keep.includes(ix.name));
  for (const ix of indexes) await c.query(`DROP INDEX "${ix.name}"`);
  return indexes;
}

/**
 * Rebuilds the dropped indexes on two connections at once: the trigram GIN index (PostgreSQL builds GIN
 * indexes in one process, and it is the slowest) beside the b-trees (which get parallel workers), so
 * the two lanes overlap. Then VACUUM ANALYZE.
 */
export async function rebuildIndexes(
  c: Client,
  indexes: DroppedIndex[],
  progress: (m: string) => void,
  url: string,
): Promise<void> {
  if (indexes.length === 0) return;
  progress(`rebuilding ${indexes.length} indexes (two connections)`);
  const isGin = (ix: DroppedIndex): boolean => / USING gin /i.test(ix.def);
  const lane = async (client: Client, list: DroppedIndex[]): Promise<void> => {
    await client.query(`SET maintenance_work_mem = '512MB'`);
    // A partitioned parent's definition reads "ON ONLY": build it on every partition too.
    for (const ix of list) await client.query(ix.def.replace(' ON ONLY ', ' ON '));
  };
  await Promise.all([
    lane(
      c,
      indexes.filter((ix) => !isGin(ix)),
    ),
    withClient(url, (other) => lane(other, indexes.filter(isGin))),
  ]);
  progress('VACUUM ANALYZE audit_logs');
  await c.query('VACUUM (ANALYZE) audit_logs');
}

/** When audit_logs is range-partitioned by month, creates the monthly partitions the data needs. */
export async function ensureMonthlyPartitions(c: Client, months: number): Promise<number> {
  const kind = await c.query<{ relkind: string }>(
    `SELECT relkind FROM pg_class WHERE oid = 'public.audit_logs'::regclass`,
  );
  if (kind.rows[0]?.relkind !== 'p') return 0;
  let created = 0;
  const now = new Date();
  for (let k = -months; k <= 0; k++) {
    // The app's own DDL: audit_logs_pYYYYMM and audit_chain_pYYYYMM with their TRUNCATE triggers.
    const p = monthPartition(now, k);
    const exists = await c.query<{ r: string | null }>(`SELECT to_regclass($1)::text AS r`, [
      `public.${p.name}`,
    ]);
    if (exists.rows[0]?.r) continue;
    for (const sql of partitionDdl(p)) await c.query(sql);
    created++;
  }
  return created;
}

/**
 * Inserts rows number `first` … `last` of `total` with INSERT … SELECT generate_series, in chunks,
 * oldest first (so `seq` grows with `occurred_at`), spread over the last 12 months. Skew: 5 heavy
 * actors hold 30 % of the rows, the rest spread over 1,000; actions follow a power law over 20;
 * resources a power law over 100,000; ~3 % failures and 0.5 % errors.
 */
export async function generateAuditRows(
  c: Client,
  first: number,
  last: number,
  total: number,
  progress: (m: string) => void,
): Promise<void> {
  const t0 = nowMs();
  const actions = GEN_ACTIONS.map(([a]) => `'${a}'`).join(',');
  const categories = GEN_ACTIONS.map(([, cat]) => `'${cat}'`).join(',');
  const rtypes = GEN_ACTIONS.map(([, , r]) => `'${r}'`).join(',');
  const words = GEN_WORDS.map((w) => `'${w}'`).join(',');
  await c.query(`SELECT setseed(${(first % 1000) / 1000})`);
  await c.query(`SET synchronous_commit = off`);
  await insertChunks(c, first, last, total, progress, t0, { actions, categories, rtypes, words });
}

async function insertChunks(
  c: Client,
  first: number,
  last: number,
  total: number,
  progress: (m: string) => void,
  t0: number,
  lists: { actions: string; categories: string; rtypes: string; words: string },
): Promise<void> {
  const { actions, categories, rtypes, words } = lists;
  const chunk = 250_000;
  for (let start = first; start <= last; start += chunk) {
    const end = Math.min(last, start + chunk - 1);
    await c.query(`
      INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, actor_id,
        actor_display, resource_type, resource_id, resource_display, request_id, http_method, http_path,
        status_code, duration_ms, ip_address, user_agent, changes, metadata, description,
        error_type, error_message)
      SELECT
        gen_random_uuid(),
        now() - interval '365 days' + (g::float8 / ${total}) * interval '364 days',
        (ARRAY[${actions}])[ai + 1],
        (ARRAY[${categories}])[ai + 1],
        oc,
        CASE oc WHEN 'success' THEN 'info' WHEN 'failure' THEN 'warning' ELSE 'error' END,
        CASE WHEN sys THEN 'system' ELSE 'user' END,
        CASE WHEN sys THEN NULL ELSE md5('actor-' || ak)::uuid::text END,
        CASE WHEN sys THEN 'System' ELSE 'User ' || ak || ' <user' || ak || '@example.com>' END,
        (ARRAY[${rtypes}])[ai + 1],
        md5('resource-' || rk)::uuid::text,
        (ARRAY[${words}])[1 + rk % ${GEN_WORDS.length}] || ' #' || rk,
        gen_random_uuid()::text,
        'PATCH',
        '/api/v1/tasks/' || md5('resource-' || rk)::uuid::text,
        CASE oc WHEN 'success' THEN 200 WHEN 'failure' THEN 403 ELSE 500 END,
        (random() * 40)::int,
        ('10.' || (ak % 250) || '.' || (rk % 250) || '.' || (g % 250 + 1))::inet,
        'Mozilla/5.0 (bench)',
        jsonb_build_object('status', jsonb_build_object('from', 'todo', 'to', 'done')),
        '{}'::jsonb,
        CASE WHEN sys THEN 'System' ELSE 'User ' || ak END || ' ' ||
          replace((ARRAY[${actions}])[ai + 1], '.', ' ') || ' “' ||
          (ARRAY[${words}])[1 + rk % ${GEN_WORDS.length}] || ' #' || rk || '”',
        CASE oc WHEN 'error' THEN 'Error' WHEN 'failure' THEN 'ForbiddenException' END,
        CASE oc WHEN 'error' THEN 'Something broke' WHEN 'failure' THEN 'Forbidden' END
      FROM (
        SELECT g,
          ai,
          ak,
          rk,
          sys,
          CASE WHEN ai IN (11, 12) THEN 'failure'
               WHEN o < 0.025 THEN 'failure' WHEN o < 0.03 THEN 'error' ELSE 'success' END AS oc
        FROM (
          SELECT g,
            least(19, floor(20 * power(random(), 2.2)))::int AS ai,
            CASE WHEN random() < 0.3 THEN floor(random() * 5)::int ELSE floor(random() * 1000)::int END AS ak,
            floor(100000 * power(random(), 1.6))::int AS rk,
            random() < 0.02 AS sys,
            random() AS o
          FROM generate_series(${start}, ${end}) AS g
        ) r0
      ) r`);
    progress(`generated ${fmtInt(end)} / ${fmtInt(total)} rows (${((nowMs() - t0) / 1000).toFixed(0)} s)`);
  }
}
