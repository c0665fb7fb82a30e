import { ChildApp } from '../lib/child-app';
import type { BenchContext } from '../lib/context';
import { loginAdmin } from '../lib/http';
import { createTasks, type LegResult, PatchRotation, runPatchLeg, warmUpSeconds } from '../lib/load';
import { failed, notMerged, table, type TargetResult } from '../lib/report';
import { fmt, fmtRatio, median } from '../lib/stats';

const TARGET = '6. Embedded mode (PGlite): target 1 load, audit on';
const GOAL = 'no goal (development mode): runs, 0 errors';
/**
 * The embedded app serves ~200 PATCHes a second, so 6 s of warm-up is already over 1,000 requests, and
 * its figure has no goal; the 6 s saved against target 1's 12 keep a default run inside its 10 minutes.
 */
const EMBEDDED_WARM_UP_SECONDS = 6;

export async function runEmbeddedTarget(ctx: BenchContext): Promise<TargetResult> {
  const { cfg } = ctx;
  let app: ChildApp | undefined;
  try {
    ctx.progress('target 6: starting the app on the embedded database (in memory)');
    app = await ChildApp.start({
      name: 'embedded',
      repoRoot: cfg.repoRoot,
      workDir: ctx.workDir,
      auditEnabled: true,
    });
    const token = await loginAdmin(app.baseUrl);
    const taskIds = await createTasks(app.baseUrl, token, 25);
    if (!taskIds) return notMerged('embedded', TARGET, GOAL, 'PATCH /api/v1/tasks/:id (tasks module)');
    const rotation = new PatchRotation(taskIds, token);
    const warmUp = warmUpSeconds(cfg, EMBEDDED_WARM_UP_SECONDS);
    await runPatchLeg(app.baseUrl, rotation, warmUp, cfg.connections);
    const legs: Array<LegResult & { rep: number }> = [];
    for (let rep = 1; rep <= cfg.embeddedReps; rep++) {
      const leg = await runPatchLeg(app.baseUrl, rotation, cfg.legSeconds, cfg.connections);
      legs.push({ ...leg, rep });
      ctx.progress(
        `target 6: rep ${rep}: ${fmt(leg.rps, 0)} req/s, p50 ${fmt(leg.p50)} ms, non-2xx ${leg.non2xx}, errors ${leg.errors}`,
      );
    }
    const rps = median(legs.map((l) => l.rps));
    const p50 = median(legs.map((l) => l.p50));
    const p99 = median(legs.map((l) => l.p99));
    const bad = legs.reduce((s, l) => s + l.non2xx + l.errors, 0);
    const serverRps = ctx.shared.serverAuditOnRps;
    const serverP50 = ctx.shared.serverAuditOnP50;
    const memory = app.memory();
    return {
      id: 'embedded',
      target: TARGET,
      measured: `${fmt(rps, 0)} req/s, p50 ${fmt(p50)} ms, ${bad} errors`,
      baseline: serverRps
        ? `${fmt(serverRps, 0)} req/s, p50 ${fmt(serverP50)} ms (server, audit on, target 1)`
        : 'n/a (target 1 did not run)',
      ratio: serverRps ? `req/s ${fmtRatio(rps / serverRps)}` : 'n/a',
      goal: GOAL,
      met: bad === 0,
      details: [
        `${cfg.connections} connections, ${cfg.legSeconds} s per leg, ${cfg.embeddedReps} legs after a ${warmUp} s warm-up, 25 tasks in rotation, EMBEDDED_DB_DIR=memory (pool of one connection). ` +
          `The baseline is target 1's audit-on median on the PostgreSQL server from the same run (not interleaved). App RSS after the run: ${fmt(memory.rssKb / 1024, 0)} MB (peak ${fmt(memory.hwmKb / 1024, 0)} MB).`,
        '',
        table(
          ['rep', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors'],
          legs.map((l) => [
            String(l.rep),
            fmt(l.rps, 0),
            fmt(l.p50),
            fmt(l.p99),
            String(l.requests),
            String(l.non2xx),
            String(l.errors),
          ]),
        ),
      ],
      data: { legs, rps, p50, p99, bad, serverRps, rssKb: memory.rssKb, hwmKb: memory.hwmKb },
    };
  } catch (e) {
    return failed('embedded', TARGET, GOAL, e);
  } finally {
    await app?.stop();
  }
}
