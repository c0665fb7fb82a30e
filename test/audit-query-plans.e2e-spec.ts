import {
  AuditFilters,
  buildPageQuery,
  buildSearchWalkQuery,
  BuiltQuery,
  buildFeedQuery,
  HEAD_RATE_SQL,
  KeysetPosition,
} from '../src/modules/audit/query/audit-query.builder';
import { RECENT_SLICE_HOURS } from '../src/modules/audit/query/audit-query.service';
import { volumeInsertSql } from './support/audit-volume';
import { queuedEventsSql } from '../src/modules/audit/integrity/audit-sealer.service';
import { PartitionManager } from '../src/modules/audit/integrity/partition-manager.service';
import type { EntityManager } from 'typeorm';
import { createTestApp, onServer, TestApp } from './support/test-app';

const ROWS = 1_000_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Loops'?: number;
  'Subplans Removed'?: number;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * EXPLAIN, not timing: on a million skewed rows every filter's first page and a deep cursor page must
 * read audit_logs through an index. Only on a PostgreSQL server (TEST_DATABASE_URL).
 */
(onServer() ? describe : describe.skip)('audit read API query plans (1,000,000 rows)', () => {
  let t: TestApp;
  let deep: KeysetPosition;
  let requestId: string;

  beforeAll(async () => {
    t = await createTestApp();
    const started = Date.now();
    // Monthly partitions for the whole generated year, as the partition job leaves them in production
    // (otherwise every row lands in the default partition).
    const partitions = t.app.get(PartitionManager);
    for (let back = 13; back >= 0; back -= 3)
      await partitions.ensure(new Date(Date.now() - back * 31 * 86_400_000));
    // Bulk load the way a restore does: secondary indexes dropped, rows inserted, indexes rebuilt
    // from their own definitions (identical to the migrated ones), then ANALYZE.
    await t.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      const indexes = await m.query<{ name: string; def: string }[]>(
        `SELECT indexname AS name, indexdef AS def FROM pg_indexes
         WHERE tablename = 'audit_logs' AND indexname <> 'audit_logs_pk'`,
      );
      for (const i of indexes) await m.query(`DROP INDEX "${i.name}"`);
      await m.query(volumeInsertSql(ROWS));
      // A partitioned index's definition says ON ONLY (parent alone): rebuild it on every partition.
      for (const i of indexes) await m.query(i.def.replace(' ON ONLY ', ' ON '));
    });
    await t.query('ANALYZE audit_logs');
    process.stdout.write(`generated ${ROWS} audit rows + ANALYZE in ${Date.now() - started} ms\n`);
    [deep] = await t.query<KeysetPosition>(
      `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "occurredAt", id
       FROM audit_logs ORDER BY occurred_at DESC, id DESC OFFSET 600000 LIMIT 1`,
    );
    [{ requestId }] = await t.query<{ requestId: string }>(
      `SELECT request_id AS "requestId" FROM audit_logs WHERE request_id IS NOT NULL LIMIT 1`,
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  async function plan(q: BuiltQuery): Promise<PlanNode[]> {
    const [row] = await t.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${q.sql}`,
      q.params,
    );
    return nodes(row['QUERY PLAN'][0].Plan);
  }

  /** The plan of `q` as run (EXPLAIN ANALYZE), with actual row counts. */
  async function analyzed(q: BuiltQuery): Promise<PlanNode[]> {
    const [row] = await t.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`,
      q.params,
    );
    return nodes(row['QUERY PLAN'][0].Plan);
  }

  /** The planner settings AuditQueryService.searchNewest runs its slices with, for this transaction. */
  async function asSearchSlices(m: EntityManager): Promise<void> {
    for (const set of ['enable_indexscan = off', 'enable_seqscan = off', 'jit = off'])
      await m.query(`SET LOCAL ${set}`);
  }

  /** `q`'s parameters as EXECUTE's argument list (none: no parentheses). */
  function executeArgs(q: BuiltQuery): string {
    return q.params.length ? `(${q.params.map((v) => `'${String(v)}'`).join(', ')})` : '';
  }

  /**
   * The plan PostgreSQL's plan cache settles on for `q` as the app runs it, a named statement: prepared,
   * run six times (the sixth may use the generic plan), then explained as run once more; and how many
   * generic plans it used. Parameter types are inferred from the SQL, as for the app's parameters.
   */
  async function cachedPlan(q: BuiltQuery): Promise<{ cached: PlanNode[]; generic: number }> {
    return t.dataSource.transaction(async (m) => {
      const args = executeArgs(q);
      await m.query(`PREPARE cached_plan AS ${q.sql}`);
      for (let i = 0; i < 6; i++) await m.query(`EXECUTE cached_plan${args}`);
      const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE cached_plan${args}`,
      );
      const [{ generic }] = await m.query<{ generic: number }[]>(
        `SELECT generic_plans::int AS generic FROM pg_prepared_statements WHERE name = 'cached_plan'`,
      );
      await m.query('DEALLOCATE cached_plan');
      return { cached: nodes(row['QUERY PLAN'][0].Plan), generic };
    });
  }

  /**
   * The generic plan of `q` as the app runs it below a cursor (preparedGenericTextQuery): prepared,
   * run once as the app's first run is, then explained as run with plan_cache_mode force_generic_plan.
   */
  async function genericPlan(q: BuiltQuery): Promise<PlanNode[]> {
    return t.dataSource.transaction(async (m) => {
      const args = executeArgs(q);
      await m.query(`PREPARE generic_plan AS ${q.sql}`);
      await m.query(`EXECUTE generic_plan${args}`);
      await m.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_plan${args}`,
      );
      await m.query('DEALLOCATE generic_plan');
      return nodes(row['QUERY PLAN'][0].Plan);
    });
  }

  /**
   * The newest slice's start as AuditQueryService.sliced computes it: RECENT_SLICE_HOURS before the
   * page's top; for a first page (no cursor) on the hour before, as a literal.
   */
  function newestSlice(
    f: AuditFilters,
    after: KeysetPosition | undefined,
  ): { above: string; literal: boolean } {
    const top = after ? Date.parse(after.occurredAt) : Math.min(Date.now(), Date.parse(f.to ?? '9999-01-01'));
    const start = top - RECENT_SLICE_HOURS * 3_600_000;
    const literal = after === undefined;
    const above = literal ? Math.floor(start / 3_600_000) * 3_600_000 : start;
    return { above: new Date(above).toISOString(), literal };
  }

  const weekAgo = () => new Date(Date.now() - 7 * 86_400_000).toISOString();
  const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
  const filters: [string, () => AuditFilters][] = [
    ['no filter', () => ({})],
    ['from', () => ({ from: weekAgo() })],
    ['to', () => ({ to: '2025-01-01T00:00:00Z' })],
    ['from + to', () => ({ from: '2025-06-01T00:00:00Z', to: '2025-06-30T00:00:00Z' })],
    ['actorId (busy)', () => ({ actorId: 'user-0' })],
    ['actorId (rare)', () => ({ actorId: 'user-4999' })],
    ['actorType (rare)', () => ({ actorType: 'api_key' })],
    ['actorType (common)', () => ({ actorType: 'user' })],
    ['action exact', () => ({ action: 'task.created' })],
    ['action prefix', () => ({ action: 'task.*' })],
    ['action (rare)', () => ({ action: 'error.unhandled' })],
    ['category', () => ({ category: 'security' })],
    ['resourceType', () => ({ resourceType: 'task' })],
    ['resourceType + resourceId', () => ({ resourceType: 'task', resourceId: 'r-123' })],
    ['resourceId alone', () => ({ resourceId: 'r-123' })],
    ['outcome error', () => ({ outcome: 'error' })],
    ['outcome success', () => ({ outcome: 'success' })],
    ['severity critical', () => ({ severity: 'critical' })],
    ['requestId', () => ({ requestId })],
    ['ip address', () => ({ ip: '10.1.2.3' })],
    ['ip CIDR', () => ({ ip: '10.7.0.0/16' })],
    ['ip v6 CIDR', () => ({ ip: '2001:db8::/32' })],
    ['q', () => ({ q: 'Thing 12345' })],
    ['errors view', () => ({ errorsOnly: true })],
    ['errors view + errorType', () => ({ errorsOnly: true, errorType: 'TypeError' })],
    ['combined', () => ({ actorId: 'user-1', action: 'task.*', outcome: 'success', from: weekAgo() })],
  ];

  /**
   * Sequential scans of audit_logs (or of the other `tables`) or of any of their partitions that holds
   * rows. (The planner rightly seq-scans an empty partition: there is nothing to read.)
   */
  async function bigSeqScans(nodes: PlanNode[], tables: string[] = ['audit_logs']): Promise<string[]> {
    const names = nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => String(n['Relation Name']));
    if (names.length === 0) return [];
    const rows = await t.query<{ name: string; tuples: number }>(
      `SELECT relname AS name, reltuples::float8 AS tuples FROM pg_class WHERE relname = ANY($1::text[])`,
      [names],
    );
    return rows
      .filter((r) => tables.some((table) => r.name.startsWith(table)) && r.tuples > 1000)
      .map((r) => `${r.name} (${r.tuples} rows)`);
  }

  it.each(filters)('first page, %s: no sequential scan of audit_logs', async (_label, make) => {
    for (const order of ['desc', 'asc'] as const) {
      const planNodes = await plan(buildPageQuery(make(), { order, limit: 51 }));
      expect(await bigSeqScans(planNodes)).toEqual([]);
    }
  });

  it.each([
    ['no filter', {}],
    ['actorId', { actorId: 'user-0' }],
    ['action', { action: 'task.created' }],
    ['outcome error', { outcome: 'error' }],
  ] as [string, AuditFilters][])('deep cursor page (600,000 rows in), %s: index only', async (_label, f) => {
    for (const order of ['desc', 'asc'] as const) {
      const planNodes = await plan(buildPageQuery(f, { order, limit: 51, after: deep }));
      expect(await bigSeqScans(planNodes)).toEqual([]);
      expect(planNodes.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
    }
  });

  it.each([
    ['no filter', {}],
    ['from', { from: daysAgo(120) }],
    ['to', { to: daysAgo(90) }],
    ['from + to', { from: daysAgo(120), to: daysAgo(90) }],
  ] as [string, AuditFilters][])(
    'the newest slice of a page filtered by time only (%s), as a named statement: index only; open-ended, a generic plan, its partitions pruned',
    async (_label, f) => {
      // As AuditQueryService.sliced runs it: a named statement with the LIMIT inlined. Whatever plan
      // PostgreSQL's plan cache settles on after five runs must read audit_logs through an index; the
      // newest page itself (no cursor, no `to`: open towards the future) must get the generic plan,
      // planned once per connection, with the partitions outside the slice pruned.
      for (const after of [undefined, deep]) {
        const { above, literal } = newestSlice(f, after);
        const q = buildPageQuery(f, {
          order: 'desc',
          limit: 51,
          after,
          slice: { above, literal },
          inlineLimit: true,
        });
        expect(q.sql).toMatch(/LIMIT 51$/);
        const { cached, generic } = await cachedPlan(q);
        expect(await bigSeqScans(cached)).toEqual([]);
        // (A `from` above the deep cursor leaves no partition at all: nothing to read.)
        if ((cached[0]['Actual Rows'] ?? 0) > 0)
          expect(cached.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
        if (!after && f.to === undefined) expect(generic).toBeGreaterThan(0);
        // A generic plan's partitions are pruned all the same: when it is planned (the month's literal,
        // see monthFloor) or when it runs (the bounds' values).
        const merge = cached.find((n) => n['Node Type'] === 'Merge Append' || n['Node Type'] === 'Append');
        const [{ partitions }] = await t.query<{ partitions: number }>(
          `SELECT count(*)::int AS partitions FROM pg_inherits WHERE inhparent = 'audit_logs'::regclass`,
        );
        expect(partitions).toBeGreaterThan(10);
        if (generic > 0 && merge) expect(merge.Plans?.length ?? 0).toBeLessThan(partitions);
        if (!after && f.from === undefined && f.to === undefined) {
          // The newest page's plan holds only the partitions from the slice's month on (that month, this
          // one, the two made ahead, the default), whichever plan it is.
          const inPlan = (merge?.Plans?.length ?? 0) + (merge?.['Subplans Removed'] ?? 0);
          expect(inPlan).toBeGreaterThanOrEqual(4);
          expect(inPlan).toBeLessThanOrEqual(5);
        }
      }
    },
  );

  // The filters the service reads this way: not time alone (GENERIC_PAGE_KEY, above), not `q`, not a
  // pinned resource or request (PINNED_PAGE_KEY, unsliced).
  const notFiltered = [
    'no filter',
    'from',
    'to',
    'from + to',
    'q',
    'requestId',
    'resourceType + resourceId',
    'resourceId alone',
  ];
  it.each(filters.filter(([label]) => !notFiltered.includes(label)))(
    'the newest slice of a first page filtered by %s, as the named statement with its values inlined: no parameter, planned once, no sequential scan',
    async (_label, make) => {
      // As AuditQueryService.sliced runs a FILTERED_PAGE_KEY (or GENERIC_PAGE_KEY) statement: the
      // filter's values, the LIMIT and the slice's start (on the hour) are literals. A statement
      // without parameters is planned once and that plan kept (no custom plans).
      const f = make();
      const { above, literal } = newestSlice(f, undefined);
      const q = buildPageQuery(f, {
        order: 'desc',
        limit: 51,
        slice: { above, literal },
        inlineLimit: true,
        inlineFilters: true,
      });
      expect(q.params).toEqual([]);
      const { cached, generic } = await cachedPlan(q);
      expect(generic).toBeGreaterThanOrEqual(6);
      expect(await bigSeqScans(cached)).toEqual([]);
    },
  );

  it.each(filters.filter(([label]) => label !== 'q'))(
    'a page below a deep cursor, %s, with the generic plan the app runs it with: index only, no sequential scan',
    async (label, make) => {
      // As AuditQueryService runs it: the newest slice (named, values inlined unless time alone), or a
      // pinned resource's or request's one statement; the cursor's and the slice's bounds parameters.
      const f = make();
      const pinned = f.resourceId !== undefined || f.requestId !== undefined;
      const { above } = newestSlice(f, deep);
      const q = pinned
        ? buildPageQuery(f, { order: 'desc', limit: 51, after: deep })
        : buildPageQuery(f, {
            order: 'desc',
            limit: 51,
            after: deep,
            slice: { above },
            inlineLimit: true,
            inlineFilters: !notFiltered.includes(label),
          });
      expect(q.params.length).toBeGreaterThan(0);
      const planNodes = await genericPlan(q);
      expect(await bigSeqScans(planNodes)).toEqual([]);
      if ((planNodes[0]['Actual Rows'] ?? 0) > 0)
        expect(planNodes.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
    },
  );

  it.each([
    ['severity critical', { severity: 'critical' }, 'severity'],
    ['severity error', { severity: 'error' }, 'severity'],
    ['actorType api_key', { actorType: 'api_key' }, 'actor_type'],
    ['actorType anonymous', { actorType: 'anonymous' }, 'actor_type'],
    ['errors view', { errorsOnly: true }, ''],
    [
      'errors view + an error type no event has',
      { errorsOnly: true, errorType: 'NoSuchError' },
      'error_type',
    ],
  ] as [string, AuditFilters, string][])(
    'a page filtered by a rare value (%s), both slices as the app runs them: read through an index of that value, not a walk of everything newer',
    async (_label, f, index) => {
      const { above, literal } = newestSlice(f, undefined);
      const slices: BuiltQuery[] = [
        buildPageQuery(f, {
          order: 'desc',
          limit: 51,
          slice: { above, literal },
          inlineLimit: true,
          inlineFilters: true,
        }),
        // The rest, older than the newest slice (unnamed, its values bound).
        buildPageQuery(f, { order: 'desc', limit: 51, slice: { atOrBelow: above } }),
      ];
      for (const q of slices) {
        const planNodes = await analyzed(q);
        expect(await bigSeqScans(planNodes)).toEqual([]);
        // A walk of the time index would drop every other row (hundreds of thousands here).
        const removed = planNodes.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0);
        expect(removed).toBeLessThan(5000);
        if (index) expect(planNodes.some((node) => node['Index Name']?.includes(index))).toBe(true);
      }
    },
  );

  it.each([
    ['q alone', { q: 'Thing 12345' }],
    ['q + actorId', { q: 'Thing', actorId: 'user-0' }],
  ] as [string, AuditFilters][])(
    'text search, first phase (%s): an index walk, bounded, no sequential scan',
    async (_label, f) => {
      for (const after of [undefined, deep]) {
        const planNodes = await plan(buildSearchWalkQuery(f, { limit: 51, after, walkRows: 1000 }));
        expect(await bigSeqScans(planNodes)).toEqual([]);
        expect(planNodes.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
      }
    },
  );
  it('text search, first phase by text alone, as a named statement: a generic plan walking the time index, no sequential scan', async () => {
    // As AuditQueryService.searchNewest runs it (SEARCH_WALK_KEY): both LIMITs inline, the term a
    // parameter. The plan cache must settle on the generic plan (one plan whatever the term).
    for (const after of [undefined, deep]) {
      const q = buildSearchWalkQuery(
        { q: 'Thing 12345' },
        { limit: 51, after, walkRows: 1000, inlineLimit: true },
      );
      const { cached, generic } = await cachedPlan(q);
      expect(await bigSeqScans(cached)).toEqual([]);
      expect(cached.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
      if (!after) expect(generic).toBeGreaterThan(0);
    }
  });

  it('text search, second phase: bounded slices of the recent past ask the search index for their hours; none scans sequentially', async () => {
    const HOUR = 3_600_000;
    const now = Date.now();
    const iso = (hoursBack: number): string => new Date(now - hoursBack * HOUR).toISOString();
    await t.dataSource.transaction(async (m) => {
      await asSearchSlices(m);
      for (const [from, to, byHour] of [
        [1, undefined, false],
        [4, 1, true],
        [64, 32, true],
        [4096, 512, false],
        [undefined, 4096, false],
      ] as [number | undefined, number | undefined, boolean][]) {
        const newest = to === undefined && from !== undefined;
        const slice = {
          above: from === undefined ? undefined : iso(from),
          atOrBelow: to === undefined ? undefined : iso(to),
          byHour,
          // The newest slice, hour by hour (open towards the future: a page that starts now).
          hours: newest ? { through: iso(0), openEnded: true } : undefined,
        };
        const q = buildPageQuery({ q: 'Thing 12345' }, { order: 'desc', limit: 51, slice });
        const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
          `EXPLAIN (FORMAT JSON) ${q.sql}`,
          q.params,
        );
        const planNodes = nodes(row['QUERY PLAN'][0].Plan);
        expect(await bigSeqScans(planNodes)).toEqual([]);
        const byHourScans = planNodes.filter(
          (n) => n['Node Type'] === 'Bitmap Index Scan' && /date_trunc\('hour'/.test(n['Index Cond'] ?? ''),
        );
        // Bounded slices with byHour ask from their first hour on. The newest slice has its hours listed
        // (PageOptions.slice.hours), but for a term this rare the planner may take its few matches from
        // the trigrams alone; a common term after a burst reads the list (the burst test below).
        if (!newest) expect(byHourScans.length > 0).toBe(byHour && to !== undefined);
      }
    });
  });
  it('the recent rate of events (text search, second phase): an index walk from the newest, no sequential scan', async () => {
    const planNodes = await plan({ sql: HEAD_RATE_SQL, params: [] });
    expect(await bigSeqScans(planNodes)).toEqual([]);
    expect(planNodes.some((n) => n['Index Name']?.startsWith('audit_logs_'))).toBe(true);
  });
  it('the sealed flag: one probe of the queue per row, never a read of the whole queue, even when its hash would fit in memory', async () => {
    // PostgreSQL may plan `NOT EXISTS (… audit_pending …)` as a hashed subplan when the queue's hash
    // fits in work_mem, choosing for the filter's estimated rows rather than the page's LIMIT: every
    // page would then read the whole queue. work_mem is raised so that the hash of the 1,000,000 queued
    // events would fit: the plan must still probe the queue's primary key.
    await t.query('ANALYZE audit_pending');
    await t.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL work_mem = '1GB'`);
      for (const f of [{}, { outcome: 'failure' }, { actorType: 'user' }] as AuditFilters[]) {
        const q = buildPageQuery(f, { order: 'desc', limit: 51 });
        const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
          `EXPLAIN (FORMAT JSON) ${q.sql}`,
          q.params,
        );
        const planNodes = nodes(row['QUERY PLAN'][0].Plan);
        expect(
          planNodes.filter((n) => n['Relation Name'] === 'audit_pending').map((n) => n['Node Type']),
        ).toEqual(['Index Only Scan']);
      }
    });
  });
  it('an offset page probes the queue (and formats its columns) for the rows it returns, not for the rows it skips', async () => {
    for (const order of ['desc', 'asc'] as const) {
      const q = buildPageQuery({}, { order, limit: 51, offset: 10_000 });
      const probes = (await analyzed(q)).filter((n) => n['Relation Name'] === 'audit_pending');
      expect(probes.map((n) => n['Actual Loops'])).toEqual([51]);
    }
  });
  it('the sealer reading a backlog of 1,000,000 queued events: one index probe per event, no sequential scan', async () => {
    await t.query('ANALYZE audit_pending');
    const [{ n }] = await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_pending`);
    expect(Number(n)).toBeGreaterThanOrEqual(ROWS);
    const read = { sql: queuedEventsSql(1000), params: ['0'] };
    const planNodes = await plan(read);
    expect(await bigSeqScans(planNodes)).toEqual([]);
    expect(planNodes.some((n) => n['Node Type'] === 'Nested Loop')).toBe(true);
    expect(planNodes.some((n) => n['Index Name'] === 'audit_pending_pk')).toBe(true);
    // As the sealer runs it: a named statement (LIMIT inlined) whose cached generic plan is the same
    // nested loop of probes.
    const { cached, generic } = await cachedPlan(read);
    expect(generic).toBeGreaterThan(0);
    expect(await bigSeqScans(cached)).toEqual([]);
    expect(cached.some((n) => n['Node Type'] === 'Nested Loop')).toBe(true);
    expect(cached.some((n) => n['Index Name'] === 'audit_pending_pk')).toBe(true);
  });
  it('the feed (chain order) over 1,000,000 chained events: index scans only, also as a prepared statement', async () => {
    // Chain rows for every generated event (placeholder hashes: only the plan is looked at here).
    await t.query(`INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
      SELECT row_number() OVER (ORDER BY seq) + coalesce((SELECT max(chain_pos) FROM audit_chain), 0),
             seq, occurred_at, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
        FROM audit_logs a WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = a.seq)`);
    await t.query('ANALYZE audit_chain');
    const seqScans = (planNodes: PlanNode[]): Promise<string[]> =>
      bigSeqScans(planNodes, ['audit_logs', 'audit_chain']);
    const feed = buildFeedQuery(200);
    for (const after of ['0', '600000']) {
      const custom = await plan({ sql: feed, params: [after] });
      expect(await seqScans(custom)).toEqual([]);
      expect(custom.some((n) => n['Index Name']?.startsWith('audit_chain_'))).toBe(true);
      // As the app runs it: a named prepared statement. With the LIMIT inlined, PostgreSQL's plan cache
      // (plan_cache_mode auto) settles on the generic plan (with `LIMIT $2` it planned every call).
      const { cached, generic } = await cachedPlan({ sql: feed, params: [after] });
      expect(generic).toBeGreaterThan(0);
      expect(await seqScans(cached)).toEqual([]);
      expect(cached.some((n) => n['Index Name']?.startsWith('audit_chain_'))).toBe(true);
    }
  });
  /**
   * A burst of 30,000 `audit.viewed` events by user-0 stamped in the last 30 s (an audited reader writes
   * one per call), once: the statistics do not know it (no ANALYZE after it). So the tests using it come last.
   */
  async function ensureBurst(): Promise<void> {
    const [{ n }] = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE action = 'audit.viewed' AND occurred_at > now() - interval '1 hour'`,
    );
    if (n < 30_000)
      await t.query(`INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type,
          actor_id, actor_display, description, metadata)
        SELECT gen_random_uuid(), now() - g * interval '1 ms', 'audit.viewed', 'audit', 'success', 'info',
               'user', 'user-0', 'Reader', 'Viewed the audit trail', '{}'
          FROM generate_series(1, 30000) g`);
  }

  // Last: they add the burst.
  it("text search, the newest slice after the burst: the term's matches in the slice's hours, not the burst nor every match of the partition", async () => {
    await ensureBurst();
    const HOUR = 3_600_000;
    const now = Date.now();
    // As AuditQueryService.searchNewest runs its newest slice. 'Someone' (every event by a non-user
    // actor, ~9 %) is in none of the burst's events but in thousands of the newest partition's; without
    // the hour list the slice read one or the other (each a heap fetch and a recheck).
    const q = buildPageQuery(
      { q: 'Someone' },
      {
        order: 'desc',
        limit: 51,
        slice: {
          above: new Date(now - HOUR).toISOString(),
          hours: { through: new Date(now).toISOString(), openEnded: true },
        },
      },
    );
    const planNodes = await t.dataSource.transaction(async (m) => {
      await asSearchSlices(m);
      const [row] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`,
        q.params,
      );
      return nodes(row['QUERY PLAN'][0].Plan);
    });
    expect(await bigSeqScans(planNodes)).toEqual([]);
    const page = planNodes[0]['Actual Rows'] ?? 0;
    expect(page).toBe(51);
    // Entries read from audit_logs' indexes and rows fetched from its heap, kept or not: the term's
    // matches in two hours, not a bitmap of the burst (30,000 entries) nor of the partition's matches.
    const read = planNodes
      .filter(
        (n) => n['Index Name']?.startsWith('audit_logs') || n['Relation Name']?.startsWith('audit_logs'),
      )
      .reduce(
        (sum, n) =>
          sum +
          (n['Actual Rows'] ?? 0) +
          (n['Rows Removed by Filter'] ?? 0) +
          (n['Rows Removed by Index Recheck'] ?? 0),
        0,
      );
    expect(read).toBeLessThan(10_000);
    expect(
      planNodes.some((n) => n['Node Type'] === 'Bitmap Index Scan' && /= ANY/.test(n['Index Cond'] ?? '')),
    ).toBe(true);
  });
  it.each([
    ['one action', { action: 'task.created' }],
    ['an action prefix', { action: 'task.*' }],
  ] as [string, AuditFilters][])(
    'a page filtered by %s, after a burst of 30,000 newer events of another action: each action read from its own index, not the burst',
    async (_label, f) => {
      await ensureBurst();
      const above = new Date(Date.now() - 7 * 86_400_000).toISOString();
      for (const order of ['desc', 'asc'] as const) {
        const q = buildPageQuery(f, { order, limit: 51, slice: order === 'desc' ? { above } : undefined });
        const planNodes = await analyzed(q);
        expect(await bigSeqScans(planNodes)).toEqual([]);
        // The walk of the time index this replaces filtered out every newer event of the burst.
        const removed = planNodes.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0);
        expect(removed).toBeLessThan(1000);
        expect(planNodes.some((node) => node['Index Name']?.includes('action'))).toBe(true);
      }
    },
  );
  it.each([
    ['no filter', {}],
    ["the burst's own actor", { actorId: 'user-0' }],
    ['outcome failure', { outcome: 'failure' }],
    ['one action', { action: 'task.created' }],
    ['an action prefix', { action: 'task.*' }],
    ["the burst's own action", { action: 'audit.viewed' }],
  ] as [string, AuditFilters][])(
    'a page filtered by %s from a lower time bound in front of the burst (an oldest-first cursor, from; a text search walk): the page read in order, not the burst',
    async (_label, f) => {
      await ensureBurst();
      const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
      const after = { occurredAt: tenMinutesAgo, id: '00000000-0000-0000-0000-000000000000' };
      const pages: BuiltQuery[] = [
        buildPageQuery(f, { order: 'asc', limit: 51, after }),
        buildPageQuery({ ...f, from: tenMinutesAgo }, { order: 'asc', limit: 51 }),
        buildPageQuery({ ...f, from: tenMinutesAgo }, { order: 'desc', limit: 51 }),
      ];
      // A text search's first phase: the newest rows that match the other filters, at most walkRows.
      // Not by an action prefix: that walk is one statement over `action = ANY(…)`, which walks the time
      // index through the burst (read one action at a time, walkRows per action, it was slower in the
      // common case; see docs/performance.md, "Time bounds newer than the statistics").
      if (!f.action?.endsWith('.*'))
        pages.push(
          buildSearchWalkQuery(
            { ...f, from: tenMinutesAgo, q: 'no such words' },
            { limit: 51, walkRows: 500 },
          ),
        );
      for (const q of pages) {
        const planNodes = await analyzed(q);
        // Rows read from audit_logs, kept or filtered out: the page's, not the burst's (planned from
        // the statistics, such a page read and sorted every newer row: 30,000 or more).
        const read = planNodes
          .filter((node) => node['Relation Name']?.startsWith('audit_logs'))
          .reduce(
            (sum, node) =>
              sum +
              (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) +
              (node['Rows Removed by Filter'] ?? 0),
            0,
          );
        expect(read).toBeLessThan(1000);
      }
    },
  );
});
