import {
  AuditStatistics,
  STALE_STATISTICS_MIN_ROWS,
} from '../src/modules/audit/integrity/audit-statistics.service';
import { monthPartition } from '../src/modules/audit/integrity/partitions';
import { createTestApp, TestApp } from './support/test-app';

const BURST = STALE_STATISTICS_MIN_ROWS + 1_000;
const DAY_MS = 86_400_000;

/**
 * A burst of events newer than everything a partition's statistics have seen makes them stale: the
 * planner believes that stretch of time is nearly empty. The statistics refresh notices it from
 * PostgreSQL's own counters and analyzes that partition, and only when enough has changed. (Next
 * month's partition, created ahead, stands in for the current one, so that the test's times do not
 * depend on today's date: ten days of events, analyzed, then a burst after them.)
 */
describe('audit statistics refresh (stale statistics after a burst)', () => {
  let t: TestApp;
  let stats: AuditStatistics;
  const partition = monthPartition(new Date(), 1);
  const burstStart = new Date(partition.from.getTime() + 10 * DAY_MS).toISOString();

  beforeAll(async () => {
    t = await createTestApp();
    stats = t.app.get(AuditStatistics);
    await insert(20_000, partition.from.toISOString(), '10 days');
    await t.query(`ANALYZE "${partition.name}"`);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The planner's estimate of the partition's rows from the burst's start on. */
  async function burstEstimate(): Promise<number> {
    const [row] = await t.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM "${partition.name}" WHERE occurred_at > $1::timestamptz`,
      [burstStart],
    );
    return row['QUERY PLAN'][0].Plan['Plan Rows'];
  }

  async function analyzeCount(): Promise<number> {
    const [row] = await t.query<{ n: string }>(
      `SELECT analyze_count::text AS n FROM pg_stat_user_tables WHERE relname = $1`,
      [partition.name],
    );
    return Number(row.n);
  }

  /** Inserts `n` events spread over `span` from `from` and flushes the statistics counters. */
  async function insert(n: number, from: string, span: string): Promise<void> {
    await t.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, description)
         SELECT gen_random_uuid(), $2::timestamptz + random() * $3::interval,
                'task.updated', 'task', 'success', 'info', 'system', 'event ' || s
           FROM generate_series(1, $1::int) s`,
        [n, from, span],
      );
      await m.query('SELECT pg_stat_force_next_flush()');
    });
    // The counters reach the shared statistics when the inserting session goes idle.
    await new Promise((r) => setTimeout(r, 200));
  }

  it('analyzes nothing while little has changed', async () => {
    await insert(100, partition.from.toISOString(), '10 days');
    expect(await stats.refresh()).toEqual([]);
  });

  it('after a burst: the partition is analyzed and the planner sees the burst', async () => {
    const before = await analyzeCount();
    await insert(BURST, burstStart, '1 hour');
    expect(await burstEstimate()).toBeLessThan(BURST / 10);

    expect(await stats.refresh()).toEqual([partition.name]);
    expect(await analyzeCount()).toBe(before + 1);
    expect(await burstEstimate()).toBeGreaterThan(BURST / 2);
    // Fresh again: the next run has nothing to do.
    expect(await stats.refresh()).toEqual([]);
  });
});
