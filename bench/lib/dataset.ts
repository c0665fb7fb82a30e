import { ChildApp } from './child-app';
import type { BenchContext } from './context';
import { withClient } from './db';
import { dropSecondaryIndexes, ensureMonthlyPartitions, generateAuditRows, rebuildIndexes } from './generate';
import { fmtInt, nowMs, sleep } from './stats';

export interface SealingFigures {
  /** Rows sealed by the app's own sealer (generated + earlier events). */
  rows: number;
  ms: number;
  /** Highest sealed seq: verification runs over seq 1 … maxSeq. */
  maxSeq: string;
  completed: boolean;
}

export interface Dataset {
  rows: number;
  generateMs: number;
  integrity: boolean;
  partitioned: boolean;
  sealing?: SealingFigures;
}

/** Rows of the generated data that are sealed (and verified); the rest stays unsealed. */
export const verifyRowsFor = (rows: number): number =>
  Math.min(rows, Number(process.env.BENCH_VERIFY_ROWS ?? 50_000));

/**
 * Generates BENCH_ROWS audit rows. With the integrity feature present, the first `verifyRows` of them
 * are sealed by the app's own sealer (a child app with the integrity jobs on) before the rest is
 * loaded, so target 5 can verify a real chain without sealing every generated row.
 */
export async function prepareDataset(ctx: BenchContext): Promise<Dataset> {
  const { cfg } = ctx;
  const t0 = nowMs();
  return withClient(ctx.db.url, async (c) => {
    const chain = await c.query<{ present: boolean }>(
      `SELECT to_regclass('public.audit_chain') IS NOT NULL AS present`,
    );
    const integrity = chain.rows[0].present;
    const partitions = await ensureMonthlyPartitions(c, 12);
    const kind = await c.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'public.audit_logs'::regclass`,
    );
    const partitioned = kind.rows[0]?.relkind === 'p';
    if (partitions > 0) ctx.progress(`created ${partitions} monthly partitions for the generated months`);
    // The sealer finds a queued event's row by seq: keep that index during the load.
    const dropped = await dropSecondaryIndexes(c, ['audit_logs_seq_uq']);
    let sealing: SealingFigures | undefined;
    try {
      const first = integrity ? verifyRowsFor(cfg.rows) : cfg.rows;
      ctx.progress(`generating ${fmtInt(cfg.rows)} audit rows in SQL`);
      await generateAuditRows(c, 1, first, cfg.rows, ctx.progress);
      if (integrity) sealing = await seal(ctx, c);
      if (first < cfg.rows) {
        // The rest is loaded without queueing it for the sealer (docs/performance.md, "Sealing without
        // UPDATE"): the apps under test would otherwise work through millions of queued events, where a
        // live system's queue holds its last seconds. These rows are outside the chain and the queue.
        if (integrity) await c.query(`ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_enqueue`);
        await generateAuditRows(c, first + 1, cfg.rows, cfg.rows, ctx.progress, ctx.db.url);
        if (integrity) await c.query(`ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_enqueue`);
      }
    } finally {
      await rebuildIndexes(c, dropped, ctx.progress, ctx.db.url);
    }
    return { rows: cfg.rows, generateMs: nowMs() - t0, integrity, partitioned, sealing };
  });
}

async function seal(ctx: BenchContext, c: import('pg').Client): Promise<SealingFigures> {
  const pending = async (): Promise<number> =>
    Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_pending`)).rows[0].n);
  const total = await pending();
  ctx.progress(`sealing ${fmtInt(total)} rows with the app's own sealer`);
  const app = await ChildApp.start({
    name: 'sealer',
    repoRoot: ctx.cfg.repoRoot,
    workDir: ctx.workDir,
    databaseUrl: ctx.db.url,
    auditEnabled: true,
    env: { AUDIT_INTEGRITY_JOBS_ENABLED: 'true', AUDIT_SEAL_INTERVAL_MS: '200' },
  });
  const t0 = nowMs();
  let left = total;
  const deadline = t0 + 420_000;
  let lastReport = t0;
  try {
    // The app's own events (system.started) join the queue; done when nothing older is left.
    while (nowMs() < deadline) {
      left = await pending();
      if (left <= 5) break;
      await sleep(500);
      if (nowMs() - lastReport > 15_000) {
        lastReport = nowMs();
        ctx.progress(`sealing: ${fmtInt(left)} rows not yet committed as sealed`);
      }
    }
  } finally {
    await app.stop();
  }
  const ms = nowMs() - t0;
  const maxSeq = (await c.query<{ s: string | null }>(`SELECT max(seq)::text AS s FROM audit_chain`)).rows[0]
    .s;
  return { rows: total - left, ms, maxSeq: maxSeq ?? '0', completed: left <= 5 };
}
