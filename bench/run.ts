import 'reflect-metadata';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { calibrate, type Calibration, describeCalibration } from './lib/calibrate';
import { ChildApp, stopAllChildApps } from './lib/child-app';
import { loadBenchConfig } from './lib/config';
import { cpuTicks, stealShare } from './lib/cpu';
import { type BenchContext, progress } from './lib/context';
import { type BenchDatabase, createBenchDatabase, withClient } from './lib/db';
import { type Dataset, prepareDataset } from './lib/dataset';
import { describeDuration, failed, type MachineInfo, renderMarkdown, type TargetResult } from './lib/report';
import { fmtInt, nowMs } from './lib/stats';
import { runEmbeddedTarget } from './targets/embedded';
import { runExportTarget } from './targets/export';
import { runIngestionTarget } from './targets/ingestion';
import { runMutationTarget } from './targets/mutation';
import { runQueriesTarget } from './targets/queries';
import { runVerifyTarget, VERIFY_GOAL, VERIFY_TARGET } from './targets/verify';

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

let cleanup: (() => Promise<void>) | undefined;

/** The calibration workloads, or undefined (with a progress line) when they fail: no target depends on them. */
async function calibrateOrSkip(url: string, when: string): Promise<Calibration | undefined> {
  try {
    const k = await calibrate(url);
    progress(`calibration at ${when}: ${describeCalibration(k)}`);
    return k;
  } catch (e) {
    progress(`calibration at ${when} failed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = nowMs();
  const cfg = loadBenchConfig();
  progress(
    `BENCH_ROWS=${fmtInt(cfg.rows)}${cfg.quick ? ' (quick)' : ''}, ${cfg.reps} repetitions, ${cfg.legSeconds} s legs`,
  );
  const workDir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const db: BenchDatabase = await createBenchDatabase(cfg.databaseUrl);
  cleanup = async () => {
    await stopAllChildApps();
    if (cfg.keepDatabase) progress(`kept database ${db.name} (BENCH_KEEP_DB)`);
    else await db.drop().catch((e: unknown) => progress(`could not drop the bench database: ${String(e)}`));
    rmSync(workDir, { recursive: true, force: true });
  };
  progress(`created database ${db.name}`);
  const ctx: BenchContext = { cfg, db, workDir, progress, shared: {} };
  const results: TargetResult[] = [];

  const postgres = await withClient(
    db.url,
    async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0].v,
  );
  const machine: MachineInfo = {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGb: totalmem() / 1024 ** 3,
    postgres: postgres.split(',')[0],
    node: process.version,
    date: new Date().toISOString(),
    benchRows: cfg.rows,
    quick: cfg.quick,
    defaultSizes: cfg.defaultSizes,
  };
  const ticksAtStart = cpuTicks();
  machine.calibrationStart = await calibrateOrSkip(db.url, 'start');

  // Schema (the app's own migrations) and the bootstrap admin.
  progress('migrating the bench database (first app start)');
  const setup = await ChildApp.start({
    name: 'setup',
    repoRoot: cfg.repoRoot,
    workDir,
    databaseUrl: db.url,
    auditEnabled: true,
  });
  await setup.stop();

  // BENCH_ONLY=mutation,queries,… runs a subset (development aid); the default runs everything.
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
  const wanted = (id: string): boolean => only.length === 0 || only.includes(id);
  if (wanted('mutation')) results.push(await runMutationTarget(ctx));
  if (wanted('ingestion')) results.push(await runIngestionTarget(ctx));

  let dataset: Dataset | undefined;
  const needData = ['queries', 'export', 'verify'].some(wanted);
  let dataError: unknown;
  if (needData) {
    try {
      dataset = await prepareDataset(ctx);
    } catch (e) {
      dataError = e;
      progress(`data generation failed: ${String(e)}`);
    }
  }

  let reader: ChildApp | undefined;
  if (needData)
    try {
      if (!dataset) throw dataError instanceof Error ? dataError : new Error('data generation failed');
      reader = await ChildApp.start({
        name: 'reader',
        repoRoot: cfg.repoRoot,
        workDir,
        databaseUrl: db.url,
        auditEnabled: true,
        env: {
          AUDIT_EXPORT_MAX_ROWS: String(Math.max(10_000_000, cfg.rows * 2)),
          // No sealing or retention in the background while latencies are measured.
          AUDIT_INTEGRITY_JOBS_ENABLED: 'false',
        },
      });
      const steps: Array<[string, () => Promise<TargetResult[]>]> = [
        ['queries', () => runQueriesTarget(ctx, reader as ChildApp)],
        ['export', () => runExportTarget(ctx, reader as ChildApp)],
        ['verify', async () => [await runVerifyTarget(ctx, reader as ChildApp, dataset)]],
      ];
      for (const [id, step] of steps) {
        if (!wanted(id)) continue;
        try {
          results.push(...(await step()));
        } catch (e) {
          progress(`a target failed: ${e instanceof Error ? e.message : String(e)}`);
          results.push(
            failed(`step-${results.length}`, `target after ${results.at(-1)?.target ?? 'start'}`, 'n/a', e),
          );
        }
      }
    } catch (e) {
      results.push(failed('queries', '3. Queries at scale', 'p95 ≤ 10 ms (HTTP)', e));
      results.push(failed('export', '4. Export', '≥ 0.5× raw COPY rows/s; RSS growth ≤ 50 MB', e));
      results.push(failed('verify', VERIFY_TARGET, VERIFY_GOAL, e));
    } finally {
      await reader?.stop();
    }

  if (wanted('embedded')) results.push(await runEmbeddedTarget(ctx));

  machine.calibrationEnd = await calibrateOrSkip(db.url, 'end');
  machine.steal = stealShare(ticksAtStart, cpuTicks());
  machine.durationSeconds = (nowMs() - started) / 1000;
  const dir = join(cfg.repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const name = process.env.BENCH_OUTPUT ?? 'latest';
  writeFileSync(join(dir, `${name}.md`), renderMarkdown(machine, results));
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ machine, results }, null, 2) + '\n');
  progress(`wrote bench/results/${name}.md and ${name}.json`);
  progress(`bench duration: ${describeDuration(machine)}`);
  for (const r of results)
    progress(`${r.met ? 'met    ' : 'NOT MET'} ${r.target}: ${r.measured} (${r.ratio})`);
}

async function shutdown(code: number): Promise<never> {
  const c = cleanup;
  cleanup = undefined;
  await c?.().catch(() => undefined);
  process.exit(code);
}

process.once('SIGINT', () => {
  progress('interrupted: stopping the apps and dropping the bench database');
  void shutdown(130);
});
process.once('SIGTERM', () => void shutdown(143));

main().then(
  () => shutdown(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return shutdown(1);
  },
);
