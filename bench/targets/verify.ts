import { spawn } from 'node:child_process';
import type { ChildApp } from '../lib/child-app';
import type { BenchContext } from '../lib/context';
import type { Dataset } from '../lib/dataset';
import { httpJson, loginAdmin } from '../lib/http';
import { failed, notMerged, table, type TargetResult } from '../lib/report';
import { fmt, fmtInt, fmtRatio, median, nowMs } from '../lib/stats';

export const VERIFY_TARGET = '5. Chain verification (GET /api/v1/audit-logs/verify)';
export const VERIFY_GOAL = '≥ 300,000 rows/s';

interface VerifyBody {
  valid: boolean;
  checked: number;
  firstBrokenSeq?: string | null;
  reason?: string | null;
}

/** Plain read of the same rows in chain order (COPY to psql's stdout, discarded): the read limit. */
function rawRead(dbUrl: string, maxSeq: string): Promise<number> {
  return new Promise((resolveP, reject) => {
    const sql = `COPY (SELECT a.*, c.chain_pos, c.prev_hash, c.hash FROM audit_chain c
    JOIN audit_logs a ON a.seq = c.seq AND a.occurred_at = c.occurred_at
    WHERE c.seq <= ${Number(maxSeq)} ORDER BY c.chain_pos) TO STDOUT`;
    const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', dbUrl, '-c', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let err = '';
    p.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolveP(lines) : reject(new Error(`psql exited ${code}: ${err}`)),
    );
  });
}

/** Chain verification rows/s over the rows the app's sealer chained (see lib/dataset.ts). */
export async function runVerifyTarget(
  ctx: BenchContext,
  app: ChildApp,
  dataset: Dataset,
): Promise<TargetResult> {
  const token = await loginAdmin(app.baseUrl);
  const probe = await httpJson(app.baseUrl, 'GET', '/api/v1/audit-logs/verify?fromSeq=1&toSeq=1', token);
  if (!dataset.integrity || probe.status === 404 || probe.status === 405 || probe.status === 400) {
    return notMerged(
      'verify',
      VERIFY_TARGET,
      VERIFY_GOAL,
      'the hash chain and GET /api/v1/audit-logs/verify (integrity)',
    );
  }
  const sealing = dataset.sealing;
  if (!sealing || sealing.rows === 0) {
    return failed('verify', VERIFY_TARGET, VERIFY_GOAL, new Error('no rows were sealed, nothing to verify'));
  }
  const path = `/api/v1/audit-logs/verify?fromSeq=1&toSeq=${sealing.maxSeq}`;
  const legs: Array<{
    rep: number;
    mode: 'verify' | 'read';
    rows: number;
    ms: number;
    rowsPerS: number;
    valid?: boolean;
  }> = [];
  const run = async (rep: number, mode: 'verify' | 'read'): Promise<void> => {
    const t0 = nowMs();
    if (mode === 'verify') {
      const res = await httpJson(app.baseUrl, 'GET', path, token);
      const ms = nowMs() - t0;
      if (res.status !== 200) throw new Error(`verify → HTTP ${res.status} ${res.body.slice(0, 300)}`);
      const body = JSON.parse(res.body) as VerifyBody;
      legs.push({
        rep,
        mode,
        rows: body.checked,
        ms,
        rowsPerS: (body.checked / ms) * 1000,
        valid: body.valid,
      });
    } else {
      const rows = await rawRead(ctx.db.url, sealing.maxSeq);
      const ms = nowMs() - t0;
      legs.push({ rep, mode, rows, ms, rowsPerS: (rows / ms) * 1000 });
    }
  };
  ctx.progress(`target 5: verifying ${fmtInt(sealing.rows)} sealed rows`);
  await run(0, 'verify');
  await run(0, 'read');
  legs.length = 0;
  for (let rep = 1; rep <= ctx.cfg.reps; rep++) {
    for (const mode of rep % 2 === 1 ? (['verify', 'read'] as const) : (['read', 'verify'] as const))
      await run(rep, mode);
    const v = legs.filter((l) => l.mode === 'verify').at(-1);
    ctx.progress(
      `target 5: rep ${rep}: verify ${fmtInt(v?.rowsPerS ?? NaN)} rows/s (${fmtInt(v?.rows ?? 0)} checked, valid ${String(v?.valid)})`,
    );
  }
  const verify = median(legs.filter((l) => l.mode === 'verify').map((l) => l.rowsPerS));
  const read = median(legs.filter((l) => l.mode === 'read').map((l) => l.rowsPerS));
  const allValid = legs.filter((l) => l.mode === 'verify').every((l) => l.valid === true && l.rows > 0);
  return {
    id: 'verify',
    target: VERIFY_TARGET,
    measured: `${fmtInt(verify)} rows/s`,
    baseline: `${fmtInt(read)} rows/s (plain read)`,
    ratio: fmtRatio(verify / read),
    goal: VERIFY_GOAL,
    met: allValid && verify >= 300_000,
    details: [
      `Sealing: the app's own sealer (a child app with the integrity jobs on) chained the ${fmtInt(sealing.rows)} rows pending ` +
        `(the first generated rows plus events not sealed yet) in ${fmt(sealing.ms / 1000, 1)} s ` +
        `= ${fmtInt((sealing.rows / sealing.ms) * 1000)} rows/s${sealing.completed ? '' : ' (**did not finish in time**)'}; the remaining generated rows stay unsealed. ` +
        "The verifier checks every sealed row from seq 1 (the earlier targets' events, sealed by those apps, included): the rows column below is its `checked` count. " +
        `Verification = \`GET ${path}\` (admin, whole response timed), ${ctx.cfg.reps} repetitions interleaved with the baseline, ` +
        'a plain `COPY (SELECT * … ORDER BY chain_pos) TO STDOUT` of the same rows through psql (the read limit without any hashing). ' +
        `Every verification answered valid: ${allValid ? 'yes' : '**no**'}.`,
      '',
      table(
        ['rep', 'mode', 'rows', 'seconds', 'rows/s', 'valid'],
        legs.map((l) => [
          String(l.rep),
          l.mode,
          fmtInt(l.rows),
          fmt(l.ms / 1000, 2),
          fmtInt(l.rowsPerS),
          l.valid === undefined ? '—' : String(l.valid),
        ]),
      ),
    ],
    data: { legs, verify, read, sealing, allValid },
  };
}
