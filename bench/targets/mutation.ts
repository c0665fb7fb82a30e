import { ChildApp } from '../lib/child-app';
import { machineCpuMs, processCpuMs } from '../lib/cpu';
import type { BenchContext } from '../lib/context';
import { withClient } from '../lib/db';
import { loginAdmin } from '../lib/http';
import { createTasks, type LegResult, PatchRotation, runPatchLeg, warmUpSeconds } from '../lib/load';
import { PgRoundTripCounter } from '../lib/pg-proxy';
import { failed, notMerged, table, type TargetResult } from '../lib/report';
import { fmt, fmtRatio, median, nowMs, sleep } from '../lib/stats';

const TARGET = '1. PATCH /api/v1/tasks/:id, audit on vs off';
const GOAL = 'p50 on ≤ 1.15× off; req/s on ≥ 0.85× off';
const TASKS = 50;

interface LegMark {
  /** task.updated events in the table so far. */
  events: number;
  /** PostgreSQL's current WAL position. */
  lsn: string;
  /** WAL bytes written since `since` (0 without it). */
  walBytes: number;
}

/** A leg's bookkeeping on either side of it, read in one statement on one connection. */
const legMark = (url: string, since?: string): Promise<LegMark> =>
  withClient(url, async (c) => {
    const r = await c.query<{ n: string; lsn: string; b: string | null }>(
      `SELECT (SELECT count(*) FROM audit_logs WHERE action = 'task.updated')::text AS n,
              pg_current_wal_lsn()::text AS lsn,
              pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS b`,
      [since ?? null],
    );
    const row = r.rows[0];
    return { events: Number(row.n), lsn: row.lsn, walBytes: Number(row.b ?? 0) };
  });

interface Leg extends LegResult {
  mode: 'on' | 'off';
  rep: number;
  events: number;
  /** CPU of the app under load (all its threads) per request, ms. */
  appCpuMs: number;
  /** Busy CPU of the whole machine (app, PostgreSQL, the load generator) per request, ms. */
  machineCpuMs: number;
  /** WAL PostgreSQL wrote during the leg per request, bytes (the audit INSERT and its sealing included). */
  walBytes: number;
}

/** Round trips per PATCH, counted by a protocol-level proxy in front of PostgreSQL. */
async function countRoundTrips(ctx: BenchContext): Promise<Record<string, number>> {
  const u = new URL(ctx.db.url);
  const out: Record<string, number> = {};
  for (const mode of ['off', 'on'] as const) {
    const proxy = new PgRoundTripCounter(u.hostname, Number(u.port || 5432));
    const port = await proxy.listen();
    const proxied = new URL(ctx.db.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    const app = await ChildApp.start({
      name: `roundtrips-${mode}`,
      repoRoot: ctx.cfg.repoRoot,
      workDir: ctx.workDir,
      databaseUrl: proxied.toString(),
      auditEnabled: mode === 'on',
      env: { DB_MIGRATIONS_RUN: 'false' },
    });
    try {
      const token = await loginAdmin(app.baseUrl);
      // Fresh tasks (created `low`): the first visit of the rotation sets `high`, a real change.
      const n = 40;
      const fresh = (await createTasks(app.baseUrl, token, n)) ?? [];
      const rotation = new PatchRotation(fresh, token);
      const reqs = Array.from({ length: n }, () => rotation.next());
      // Background work (a sealer, a scheduler) also talks to the database: measure it idle, subtract it.
      proxy.reset();
      const idleStart = nowMs();
      await sleep(1000);
      const idleRate = proxy.roundTrips / (nowMs() - idleStart);
      proxy.reset();
      const t0 = nowMs();
      let ok = 0;
      for (const r of reqs) {
        const res = await fetch(`${app.baseUrl}${r.path}`, {
          method: 'PATCH',
          headers: r.headers,
          body: r.body,
        });
        await res.text();
        if (res.ok) ok++;
      }
      const background = idleRate * (nowMs() - t0);
      out[mode] = (proxy.roundTrips - background) / Math.max(1, ok);
      out[`${mode}Background`] = idleRate * 1000;
    } finally {
      await app.stop();
      await proxy.close();
    }
  }
  return out;
}

export async function runMutationTarget(ctx: BenchContext): Promise<TargetResult> {
  const { cfg } = ctx;
  let off: ChildApp | undefined;
  let on: ChildApp | undefined;
  try {
    ctx.progress('target 1: starting the app with auditing off and on');
    off = await ChildApp.start({
      name: 'audit-off',
      repoRoot: cfg.repoRoot,
      workDir: ctx.workDir,
      databaseUrl: ctx.db.url,
      auditEnabled: false,
      // It writes no events, so it has none to seal: the audited app seals its own (in its own process),
      // as a single audited instance would. Otherwise whichever app took the sealer lock first did it.
      env: { AUDIT_INTEGRITY_JOBS_ENABLED: 'false' },
    });
    on = await ChildApp.start({
      name: 'audit-on',
      repoRoot: cfg.repoRoot,
      workDir: ctx.workDir,
      databaseUrl: ctx.db.url,
      auditEnabled: true,
    });
    const tokenOn = await loginAdmin(on.baseUrl);
    const tokenOff = await loginAdmin(off.baseUrl);
    const taskIds = await createTasks(on.baseUrl, tokenOn, TASKS);
    if (!taskIds) return notMerged('mutation', TARGET, GOAL, 'PATCH /api/v1/tasks/:id (tasks module)');
    // Each app gets its own rotation state over different tasks, so that each PATCH is a change.
    const half = TASKS / 2;
    const rotOff = new PatchRotation(taskIds.slice(0, half), tokenOff);
    const rotOn = new PatchRotation(taskIds.slice(half), tokenOn);

    ctx.progress('target 1: warm-up');
    const warm = warmUpSeconds(cfg);
    await runPatchLeg(off.baseUrl, rotOff, warm, cfg.connections);
    await runPatchLeg(on.baseUrl, rotOn, warm, cfg.connections);

    const legs: Leg[] = [];
    for (let rep = 1; rep <= cfg.reps; rep++) {
      // A B B A …: neither mode always goes first.
      const order: Array<'off' | 'on'> = rep % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
      for (const mode of order) {
        const app = mode === 'on' ? on : off;
        const before = await legMark(ctx.db.url);
        const cpu0 = { app: processCpuMs(app.pid), machine: machineCpuMs() };
        const leg = await runPatchLeg(
          app.baseUrl,
          mode === 'on' ? rotOn : rotOff,
          cfg.legSeconds,
          cfg.connections,
        );
        const n = Math.max(1, leg.requests);
        const appCpuMs = (processCpuMs(app.pid) - cpu0.app) / n;
        const machineCpu = (machineCpuMs() - cpu0.machine) / n;
        const after = await legMark(ctx.db.url, before.lsn);
        const walBytes = after.walBytes / n;
        const events = after.events - before.events;
        legs.push({ ...leg, mode, rep, events, appCpuMs, machineCpuMs: machineCpu, walBytes });
        ctx.progress(
          `target 1: rep ${rep} audit ${mode}: ${fmt(leg.rps, 0)} req/s, p50 ${fmt(leg.p50)} ms, p99 ${fmt(leg.p99)} ms, non-2xx ${leg.non2xx}; per request: app CPU ${fmt(appCpuMs)} ms, machine CPU ${fmt(machineCpu)} ms, WAL ${fmt(walBytes / 1024, 1)} KB`,
        );
      }
    }
    await off.stop();
    await on.stop();
    off = on = undefined;

    ctx.progress('target 1: counting PostgreSQL round trips per PATCH');
    const roundTrips: Record<string, number> = await countRoundTrips(ctx).catch((e: unknown) => {
      ctx.progress(`target 1: round-trip count failed: ${String(e)}`);
      return {};
    });

    const pick = (mode: 'on' | 'off', f: (l: Leg) => number): number =>
      median(legs.filter((l) => l.mode === mode).map(f));
    const rpsOn = pick('on', (l) => l.rps);
    const rpsOff = pick('off', (l) => l.rps);
    const p50On = pick('on', (l) => l.p50);
    const p50Off = pick('off', (l) => l.p50);
    const p99On = pick('on', (l) => l.p99);
    const p99Off = pick('off', (l) => l.p99);
    const cost = (mode: 'on' | 'off'): { app: number; machine: number; wal: number } => ({
      app: pick(mode, (l) => l.appCpuMs),
      machine: pick(mode, (l) => l.machineCpuMs),
      wal: pick(mode, (l) => l.walBytes),
    });
    const costOn = cost('on');
    const costOff = cost('off');
    const bad = legs.reduce((s, l) => s + l.non2xx + l.errors, 0);
    const eventsOn = legs.filter((l) => l.mode === 'on').reduce((s, l) => s + l.events, 0);
    const reqOn = legs.filter((l) => l.mode === 'on').reduce((s, l) => s + l.requests, 0);
    const eventsOff = legs.filter((l) => l.mode === 'off').reduce((s, l) => s + l.events, 0);
    const p50Ratio = p50On / p50Off;
    const rpsRatio = rpsOn / rpsOff;
    // The two adjacent legs of each repetition, as a ratio: how far the noise moves the figure.
    const perRep = [...new Set(legs.map((l) => l.rep))].flatMap((rep) => {
      const on1 = legs.find((l) => l.rep === rep && l.mode === 'on');
      const off1 = legs.find((l) => l.rep === rep && l.mode === 'off');
      return on1 && off1 ? [{ rps: on1.rps / off1.rps, p50: on1.p50 / off1.p50 }] : [];
    });
    const spread = (xs: number[]): string =>
      `${xs.map((x) => fmtRatio(x)).join(', ')} (range ${fmtRatio(Math.min(...xs))}–${fmtRatio(Math.max(...xs))})`;
    ctx.shared.serverAuditOnRps = rpsOn;
    ctx.shared.serverAuditOnP50 = p50On;
    const met = bad === 0 && p50Ratio <= 1.15 && rpsRatio >= 0.85;
    return {
      id: 'mutation',
      target: TARGET,
      measured: `${fmt(rpsOn, 0)} req/s, p50 ${fmt(p50On)} ms (on)`,
      baseline: `${fmt(rpsOff, 0)} req/s, p50 ${fmt(p50Off)} ms (off)`,
      ratio: `p50 ${fmtRatio(p50Ratio)}, req/s ${fmtRatio(rpsRatio)}`,
      goal: GOAL,
      met,
      details: [
        `${cfg.connections} connections, ${cfg.legSeconds} s per leg, ${cfg.reps} legs per mode interleaved (off/on, on/off, …), ` +
          `after a ${warm} s warm-up of each app. Each request flips one task's priority (50 tasks in rotation), so every PATCH is a real change. ` +
          "Latencies are exact per-request times (not autocannon's whole-millisecond histogram).",
        '',
        table(
          [
            'rep',
            'audit',
            'req/s',
            'p50 ms',
            'p99 ms',
            'requests',
            'non-2xx',
            'errors',
            'task.updated events',
            'app CPU ms/req',
            'machine CPU ms/req',
            'WAL KB/req',
          ],
          legs.map((l) => [
            String(l.rep),
            l.mode,
            fmt(l.rps, 0),
            fmt(l.p50),
            fmt(l.p99),
            String(l.requests),
            String(l.non2xx),
            String(l.errors),
            String(l.events),
            fmt(l.appCpuMs),
            fmt(l.machineCpuMs),
            fmt(l.walBytes / 1024, 1),
          ]),
        ),
        '',
        table(
          ['median', 'req/s', 'p50 ms', 'p99 ms', 'app CPU ms/req', 'machine CPU ms/req', 'WAL KB/req'],
          [
            [
              'audit off',
              fmt(rpsOff, 0),
              fmt(p50Off),
              fmt(p99Off),
              fmt(costOff.app),
              fmt(costOff.machine),
              fmt(costOff.wal / 1024, 1),
            ],
            [
              'audit on',
              fmt(rpsOn, 0),
              fmt(p50On),
              fmt(p99On),
              fmt(costOn.app),
              fmt(costOn.machine),
              fmt(costOn.wal / 1024, 1),
            ],
            [
              'on / off',
              fmtRatio(rpsRatio),
              fmtRatio(p50Ratio),
              fmtRatio(p99On / p99Off),
              fmtRatio(costOn.app / costOff.app),
              fmtRatio(costOn.machine / costOff.machine),
              fmtRatio(costOn.wal / costOff.wal),
            ],
          ],
        ),
        '',
        'Per request: the app CPU is its process (all threads) from /proc/<pid>/stat; the machine CPU is every busy ' +
          "CPU second of the leg from /proc/stat (app, PostgreSQL and the load generator, which all share the machine); the WAL is what PostgreSQL wrote during the leg (pg_current_wal_lsn), sealing of the audited events included. The unaudited app runs without the integrity jobs (it has nothing to seal). These are steadier than req/s on a shared machine: when the app's single thread saturates, req/s follows its CPU per request.",
        '',
        perRep.length > 0
          ? `Per repetition (its two adjacent legs): req/s on/off ${spread(perRep.map((r) => r.rps))}; ` +
            `p50 on/off ${spread(perRep.map((r) => r.p50))}.`
          : '',
        '',
        `Non-2xx + connection errors over all legs: ${bad}. Audit events written: ${eventsOn} for ${reqOn} requests with auditing on, ${eventsOff} with it off.`,
        '',
        roundTrips.on !== undefined
          ? `PostgreSQL round trips per PATCH (protocol-level count of Query + Sync messages over 40 sequential PATCHes): ` +
            `audit on ${fmt(roundTrips.on, 1)}, audit off ${fmt(roundTrips.off, 1)} ` +
            `(background traffic measured idle and subtracted: ${fmt(roundTrips.onBackground, 1)} / ${fmt(roundTrips.offBackground, 1)} round trips/s).`
          : 'PostgreSQL round trips per PATCH: not counted (see the log).',
      ],
      data: {
        legs,
        rpsOn,
        rpsOff,
        p50On,
        p50Off,
        p99On,
        p99Off,
        p50Ratio,
        rpsRatio,
        bad,
        roundTrips,
        perRep,
        eventsOn,
        reqOn,
        eventsOff,
        costOn,
        costOff,
      },
    };
  } catch (e) {
    return failed('mutation', TARGET, GOAL, e);
  } finally {
    await off?.stop();
    await on?.stop();
  }
}
