import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { shareQueue } from './db';
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
 * Rebuilds the dropped indexes on two connections at once (two cores). A partitioned index is built
 * partition by partition, each partition's index a job of its own, the trigram GIN indexes (the
 * slowest: PostgreSQL builds a GIN index in one process) first; the two connections take jobs from one
 * queue until it is empty. Each job is `CREATE INDEX ON <partition> …` without a name, which gets the
 * name PostgreSQL gives when it creates a partitioned index's partitions itself; the partitioned
 * index's own definition then finds those indexes and attaches them instead of building anything.
 * Then VACUUM ANALYZE, partition by partition on the two connections too. (Measured on the 2 M
 * default data, AMD EPYC: the whole GIN index on one connection beside the b-trees on the other took
 * 69 s; this way 42–56 s.)
 */
export async function rebuildIndexes(
  c: Client,
  indexes: DroppedIndex[],
  progress: (m: string) => void,
  url: string,
): Promise<void> {
  if (indexes.length === 0) return;
  progress(`rebuilding ${indexes.length} indexes (two connections, partition by partition)`);
  const partitions = (
    await c.query<{ name: string }>(
      `SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'public.audit_logs'::regclass`,
    )
  ).rows.map((r) => r.name);
  const ginFirst = (ix: DroppedIndex): number => (/ USING gin /i.test(ix.def) ? 0 : 1);
  const jobs: string[] = [];
  for (const ix of [...indexes].sort((a, b) => ginFirst(a) - ginFirst(b))) {
    const parent = /^CREATE (UNIQUE )?INDEX \S+ ON ONLY (\S+) /.exec(ix.def);
    if (!parent) {
      jobs.push(ix.def);
      continue;
    }
    for (const partition of partitions)
      jobs.push(ix.def.replace(parent[0], `CREATE ${parent[1] ?? ''}INDEX ON ${partition} `));
  }
  const runJob = async (client: Client, sql: string): Promise<void> => void (await client.query(sql));
  const memory = (client: Client) => client.query(`SET maintenance_work_mem = '512MB'`);
  await shareQueue(c, url, jobs, runJob, memory);
  // The partitioned indexes: each attaches the partitions' indexes just built.
  for (const ix of indexes) await c.query(ix.def.replace(' ON ONLY ', ' ON '));
  // VACUUM (ANALYZE) partition by partition on the two connections, then the partitioned table's own
  // statistics (what `VACUUM (ANALYZE) audit_logs` does on one connection).
  progress('VACUUM ANALYZE audit_logs (two connections)');
  const vacuums = partitions.map((partition) => `VACUUM (ANALYZE) ${partition}`);
  await shareQueue(c, url, vacuums, runJob, memory);
  await c.query('ANALYZE audit_logs');
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
 * Inserts rows number `first` … `last` of `total` with INSERT … SELECT generate_series, in chunks of
 * CHUNK_ROWS, spread over the last 12 months, `seq` growing with `occurred_at`. Skew: 5 heavy actors
 * hold 30 % of the rows, the rest spread over 1,000; actions follow a power law over 20; resources a
 * power law over 100,000; ~3 % failures and 0.5 % errors. With `url`, the chunks are shared by two
 * connections (two cores: ~40 % less time), each chunk with its own random seed and a block of `seq`
 * values reserved up front (`seq` = the block's start + the row number), so the data is the same
 * whichever connection inserts a chunk and in whichever order the two commit.
 */
export async function generateAuditRows(
  c: Client,
  first: number,
  last: number,
  total: number,
  progress: (m: string) => void,
  url?: string,
): Promise<void> {
  const t0 = nowMs();
  const actions = GEN_ACTIONS.map(([a]) => `'${a}'`).join(',');
  const categories = GEN_ACTIONS.map(([, cat]) => `'${cat}'`).join(',');
  const rtypes = GEN_ACTIONS.map(([, , r]) => `'${r}'`).join(',');
  const words = GEN_WORDS.map((w) => `'${w}'`).join(',');
  const lists = { actions, categories, rtypes, words };
  const rows = last - first + 1;
  // The block of seq values: nextval() once, then the sequence moved past the block.
  const { base } = (
    await c.query<{ base: string }>(
      `SELECT nextval(pg_get_serial_sequence('audit_logs', 'seq'))::text AS base`,
    )
  ).rows[0];
  await c.query(`SELECT setval(pg_get_serial_sequence('audit_logs', 'seq'), $1::bigint)`, [
    String(BigInt(base) + BigInt(rows) - 1n),
  ]);
  const seqOffset = BigInt(base) - BigInt(first);
  const chunks: Array<[number, number]> = [];
  for (let start = first; start <= last; start += CHUNK_ROWS)
    chunks.push([start, Math.min(last, start + CHUNK_ROWS - 1)]);
  let done = 0;
  await shareQueue(
    c,
    url,
    chunks,
    async (client, [start, end]) => {
      await client.query(`SELECT setseed(${((start / CHUNK_ROWS) % 1000) / 1000})`);
      await insertChunk(client, start, end, total, seqOffset, lists);
      done += end - start + 1;
      progress(`generated ${fmtInt(done)} / ${fmtInt(rows)} rows (${((nowMs() - t0) / 1000).toFixed(0)} s)`);
    },
    (client) => client.query(`SET synchronous_commit = off`),
  );
}

/** Rows per INSERT … SELECT of generateAuditRows. */
const CHUNK_ROWS = 250_000;

async function insertChunk(
  c: Client,
  start: number,
  end: number,
  total: number,
  seqOffset: bigint,
  lists: { actions: string; categories: string; rtypes: string; words: string },
): Promise<void> {
  const { actions, categories, rtypes, words } = lists;
  await c.query(`
      INSERT INTO audit_logs (seq, id, occurred_at, action, category, outcome, severity, actor_type, actor_id,
        actor_display, resource_type, resource_id, resource_display, request_id, http_method, http_path,
        status_code, duration_ms, ip_address, user_agent, changes, metadata, description,
        error_type, error_message)
      SELECT
        g + ${seqOffset},
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
}
