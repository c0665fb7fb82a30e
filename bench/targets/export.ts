import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { ChildApp, readMemory, resetPeak } from '../lib/child-app';
import type { BenchContext } from '../lib/context';
import { withClient } from '../lib/db';
import { httpJson, loginAdmin } from '../lib/http';
import { notMerged, table, type TargetResult } from '../lib/report';
import { fmt, fmtInt, fmtRatio, median, nowMs } from '../lib/stats';

const TARGET_CSV = '4a. Export CSV through HTTP vs raw COPY';
const TARGET_NDJSON = '4b. Export NDJSON through HTTP vs raw COPY';
const GOAL = '≥ 0.5× raw COPY rows/s; RSS growth ≤ 50 MB';

/** The CSV columns of the export (issue 5), selected straight from the table for the raw COPY. */
const COPY_COLUMNS = `id, seq, occurred_at, action, category, outcome, severity, actor_type, actor_id, actor_display,
  resource_type, resource_id, resource_display, request_id, http_method, http_path, status_code, duration_ms,
  ip_address, user_agent, description, changes, metadata, error_type, error_message`;

interface Leg {
  rep: number;
  mode: 'copy' | 'csv' | 'ndjson';
  ms: number;
  /** From the start of the leg to its first byte of output. */
  firstByteMs: number;
  lines: number;
  bytes: number;
  rowsPerS: number;
  rssGrowthMb?: number;
  status?: number;
}

/** What a leg read: bytes, newlines, and the time from the leg's start to its first and last byte. */
class Tally {
  private readonly start = nowMs();
  bytes = 0;
  lines = 0;
  firstByteMs = NaN;

  add(chunk: Buffer): void {
    if (this.bytes === 0) this.firstByteMs = nowMs() - this.start;
    this.bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++;
  }

  elapsedMs(): number {
    return nowMs() - this.start;
  }
}

/** Streams a response into a Tally; samples the server's RSS while it runs. */
function download(
  url: string,
  token: string,
  pid: number,
): Promise<{ status: number; read: Tally; peakRssKb: number }> {
  return new Promise((resolveP, reject) => {
    const read = new Tally();
    let peak = 0;
    const sample = (): void => {
      try {
        const m = readMemory(pid);
        peak = Math.max(peak, m.rssKb, m.hwmKb);
      } catch {
        // process gone
      }
    };
    const timer = setInterval(sample, 20);
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (chunk: Buffer) => read.add(chunk));
      res.on('end', () => {
        clearInterval(timer);
        sample();
        resolveP({ status: res.statusCode ?? 0, read, peakRssKb: peak });
      });
      res.on('error', (e) => {
        clearInterval(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    req.end();
  });
}

/** psql's COPY of `sql` to its stdout, read into a Tally. */
function rawCopy(dbUrl: string, sql: string): Promise<Tally> {
  return new Promise((resolveP, reject) => {
    const read = new Tally();
    const p = spawn(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', dbUrl, '-c', `COPY (${sql}) TO STDOUT (FORMAT csv, HEADER)`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    p.stdout.on('data', (chunk: Buffer) => read.add(chunk));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolveP(read) : reject(new Error(`psql exited ${code}: ${err}`))));
  });
}

export async function runExportTarget(ctx: BenchContext, app: ChildApp): Promise<TargetResult[]> {
  const { cfg } = ctx;
  const token = await loginAdmin(app.baseUrl);
  const probe = await httpJson(
    app.baseUrl,
    'GET',
    '/api/v1/audit-logs/export?format=ndjson&limit=1&from=2999-01-01T00:00:00Z',
    token,
  );
  if (probe.status === 404 || probe.status === 405) {
    const what = 'GET /api/v1/audit-logs/export (admin audit API)';
    return [
      notMerged('export-csv', TARGET_CSV, GOAL, what),
      notMerged('export-ndjson', TARGET_NDJSON, GOAL, what),
    ];
  }
  // A time window holding exactly the newest `exportRows` rows (as of now; the API adds a few events).
  const window = await withClient(ctx.db.url, async (c) => {
    const r = await c.query<{ ts: string; iso: string }>(
      `SELECT occurred_at::text AS ts,
              to_char(date_trunc('milliseconds', occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso
       FROM audit_logs ORDER BY occurred_at DESC, id DESC OFFSET $1 LIMIT 1`,
      [cfg.exportRows - 1],
    );
    const to = new Date(Date.now() - 1000).toISOString();
    const n = await c.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_logs WHERE occurred_at >= $1 AND occurred_at <= $2`,
      [r.rows[0].iso, to],
    );
    return { from: r.rows[0].iso, to, rows: Number(n.rows[0].n) };
  });
  const copySql = `SELECT ${COPY_COLUMNS} FROM audit_logs WHERE occurred_at >= '${window.from}' AND occurred_at <= '${window.to}' ORDER BY occurred_at DESC, id DESC`;
  const httpPath = (format: string): string =>
    `${app.baseUrl}/api/v1/audit-logs/export?format=${format}&from=${encodeURIComponent(window.from)}&to=${encodeURIComponent(window.to)}`;

  const legs: Leg[] = [];
  const runLeg = async (rep: number, mode: Leg['mode']): Promise<Leg> => {
    const leg = (read: Tally, ms: number): Leg => ({
      rep,
      mode,
      ms,
      firstByteMs: read.firstByteMs,
      lines: read.lines,
      bytes: read.bytes,
      rowsPerS: (window.rows / ms) * 1000,
    });
    if (mode === 'copy') {
      const read = await rawCopy(ctx.db.url, copySql);
      return leg(read, read.elapsedMs());
    }
    const before = readMemory(app.pid).rssKb;
    const resetOk = resetPeak(app.pid);
    const r = await download(httpPath(mode), token, app.pid);
    const ms = r.read.elapsedMs();
    const peak = Math.max(r.peakRssKb, resetOk ? readMemory(app.pid).hwmKb : 0);
    if (r.status !== 200) throw new Error(`export ${mode} → HTTP ${r.status}`);
    return { ...leg(r.read, ms), rssGrowthMb: (peak - before) / 1024, status: r.status };
  };

  ctx.progress(`target 4: exporting ${fmtInt(window.rows)} rows`);
  // Warm-up on a small window only (1M-row warm-ups would cost minutes of the time bound).
  await download(
    `${app.baseUrl}/api/v1/audit-logs/export?format=csv&from=${encodeURIComponent(new Date(Date.now() - 86400_000).toISOString())}`,
    token,
    app.pid,
  );
  const order: Array<Leg['mode']> = ['copy', 'csv', 'ndjson'];
  for (let rep = 1; rep <= cfg.reps; rep++) {
    // Rotate the order each repetition.
    const o = order.slice(rep % 3).concat(order.slice(0, rep % 3));
    for (const mode of o) {
      const leg = await runLeg(rep, mode);
      legs.push(leg);
      ctx.progress(
        `target 4: rep ${rep} ${mode}: ${fmtInt(leg.rowsPerS)} rows/s in ${fmt(leg.ms / 1000, 1)} s, first byte ${fmt(leg.firstByteMs, 0)} ms` +
          (leg.rssGrowthMb !== undefined ? `, RSS growth ${fmt(leg.rssGrowthMb, 0)} MB` : ''),
      );
    }
  }
  const copy = median(legs.filter((l) => l.mode === 'copy').map((l) => l.rowsPerS));
  const detail = [
    `${fmtInt(window.rows)} rows (\`from=${window.from}&to=${window.to}\`), ${cfg.reps} repetitions per mode, order rotated each repetition, after a small warm-up export. ` +
      'Raw COPY = `psql -c "COPY (SELECT <the CSV columns> … ORDER BY occurred_at DESC, id DESC) TO STDOUT (FORMAT csv, HEADER)"`, read to the end by the bench. ' +
      'HTTP = `GET /api/v1/audit-logs/export?format=…` with the same window, read to the end. ' +
      "RSS growth = the app process's peak RSS during the export (VmHWM reset before each export, plus VmRSS sampled every 20 ms) minus its RSS just before. " +
      'First byte = from the start of the leg (request sent, psql spawned) to its first byte of output: a plan that sorts before it streams shows here.',
    '',
    table(
      ['rep', 'mode', 'seconds', 'first byte ms', 'rows/s', 'lines', 'MB', 'RSS growth MB'],
      legs.map((l) => [
        String(l.rep),
        l.mode,
        fmt(l.ms / 1000, 2),
        fmt(l.firstByteMs, 0),
        fmtInt(l.rowsPerS),
        fmtInt(l.lines),
        fmt(l.bytes / 1e6, 1),
        l.rssGrowthMb !== undefined ? fmt(l.rssGrowthMb, 1) : '—',
      ]),
    ),
  ];
  return (['csv', 'ndjson'] as const).map((mode, i) => {
    const mine = legs.filter((l) => l.mode === mode);
    const rps = median(mine.map((l) => l.rowsPerS));
    const growth = Math.max(...mine.map((l) => l.rssGrowthMb ?? 0));
    const r = rps / copy;
    const linesOk = mine.every(
      (l) => Math.abs(l.lines - (mode === 'csv' ? window.rows + 1 : window.rows)) <= 1000,
    );
    return {
      id: `export-${mode}`,
      target: i === 0 ? TARGET_CSV : TARGET_NDJSON,
      measured: `${fmtInt(rps)} rows/s, RSS +${fmt(growth, 0)} MB (max)`,
      baseline: `${fmtInt(copy)} rows/s (COPY)`,
      ratio: fmtRatio(r),
      goal: GOAL,
      met: r >= 0.5 && growth <= 50 && linesOk,
      details:
        i === 0
          ? detail
          : ['See the table under 4a.' + (linesOk ? '' : ' **Line counts did not match the row count.**')],
      data: {
        legs: mine,
        copyRowsPerS: copy,
        rowsPerS: rps,
        rssGrowthMaxMb: growth,
        rows: window.rows,
        linesOk,
      },
    };
  });
}
