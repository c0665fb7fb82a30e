import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { withClient } from './db';
import { fmt, median, nowMs, percentile } from './stats';

/**
 * Fixed workloads timed at the start and at the end of a run: how fast this machine was, and whether
 * it changed speed meanwhile. The targets' verdicts are ratios taken minutes apart and do not need
 * them; comparing absolute figures across results files (another day, another machine type) does:
 * a run whose calibration is 1.5× slower is a slower machine, not slower code.
 */
export interface Calibration {
  /** JSON round trip of 8,000 event-like objects plus SHA-256 over 48 MB, one core: median of 3, ms. */
  nodeMs: number;
  /** PostgreSQL, one backend, no parallelism or JIT: md5 over 300,000 integers, median of 3, ms. */
  postgresMs: number;
  /** `SELECT 1` on one connection, 500 calls: the round trip, ms. */
  roundTripP50Ms: number;
  roundTripP95Ms: number;
  /** One-row INSERT in its own transaction (a WAL flush each), 200 calls, ms. */
  commitP50Ms: number;
  commitP95Ms: number;
}

function nodeWorkload(): number {
  const items = Array.from({ length: 8000 }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    action: 'task.updated',
    actor: { id: i % 97, display: `Actor ${i % 97} <actor${i % 97}@example.test>` },
    changes: { priority: { from: 'low', to: 'high' }, title: { from: `Task ${i}`, to: `Task ${i}!` } },
    metadata: { query: { limit: '50', page: String(i) } },
  }));
  const block = Buffer.alloc(1024 * 1024, 7);
  const t0 = nowMs();
  const parsed = JSON.parse(JSON.stringify(items)) as unknown[];
  const hash = createHash('sha256');
  for (let i = 0; i < 48; i++) hash.update(block);
  hash.digest();
  const ms = nowMs() - t0;
  if (parsed.length !== items.length) throw new Error('calibration: JSON round trip lost items');
  return ms;
}

async function timed(c: Client, sql: string, times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = nowMs();
    await c.query(sql);
    out.push(nowMs() - t0);
  }
  return out;
}

/** Runs the fixed workloads against `databaseUrl` (a scratch table is created and dropped there). */
export async function calibrate(databaseUrl: string): Promise<Calibration> {
  nodeWorkload(); // warm-up: the first call pays for compilation
  const nodeMs = median(Array.from({ length: 3 }, nodeWorkload));
  return withClient(databaseUrl, async (c) => {
    await c.query('SET jit = off');
    await c.query('SET max_parallel_workers_per_gather = 0');
    const cpuSql = `SELECT count(*) FROM generate_series(1, 300000) i WHERE md5(i::text) LIKE 'a%'`;
    await c.query(cpuSql);
    const postgresMs = median(await timed(c, cpuSql, 3));
    await timed(c, 'SELECT 1', 50);
    const trips = await timed(c, 'SELECT 1', 500);
    await c.query('CREATE TABLE IF NOT EXISTS bench_calibration (x int)');
    try {
      await timed(c, 'INSERT INTO bench_calibration VALUES (1)', 20);
      const commits = await timed(c, 'INSERT INTO bench_calibration VALUES (1)', 200);
      return {
        nodeMs,
        postgresMs,
        roundTripP50Ms: percentile(trips, 50),
        roundTripP95Ms: percentile(trips, 95),
        commitP50Ms: percentile(commits, 50),
        commitP95Ms: percentile(commits, 95),
      };
    } finally {
      await c.query('DROP TABLE IF EXISTS bench_calibration');
    }
  });
}

export function describeCalibration(k: Calibration): string {
  return (
    `Node ${fmt(k.nodeMs, 1)} ms, PostgreSQL ${fmt(k.postgresMs, 1)} ms, ` +
    `round trip p50 ${fmt(k.roundTripP50Ms, 3)} / p95 ${fmt(k.roundTripP95Ms, 3)} ms, ` +
    `commit p50 ${fmt(k.commitP50Ms, 3)} / p95 ${fmt(k.commitP95Ms, 3)} ms`
  );
}
