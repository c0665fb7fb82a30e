import { resolve } from 'node:path';

/** Bench settings, from the environment. BENCH_QUICK=1 shrinks everything for a smoke run. */
export interface BenchConfig {
  databaseUrl: string;
  quick: boolean;
  rows: number;
  legSeconds: number;
  reps: number;
  connections: number;
  ingestRowsPerRep: number;
  queryCalls: number;
  cursorPage: number;
  offsetDepth: number;
  exportRows: number;
  embeddedReps: number;
  repoRoot: string;
  /** BENCH_KEEP_DB=1: leave the bench database in place at the end (to study its plans by hand). */
  keepDatabase: boolean;
  /** Every target at its default size (no size knob, no BENCH_ONLY, not quick): the 10-minute bound applies. */
  defaultSizes: boolean;
}

/** The knobs that change how much work a run does; with none of them set, it must finish in 10 minutes. */
const SIZE_KNOBS = [
  'BENCH_QUICK',
  'BENCH_ROWS',
  'BENCH_REPS',
  'BENCH_LEG_SECONDS',
  'BENCH_INGEST_ROWS',
  'BENCH_QUERY_CALLS',
  'BENCH_VERIFY_ROWS',
  'BENCH_EMBEDDED_REPS',
  'BENCH_ONLY',
];

/** The time bound of a default run (the "≤ 10 minutes at the default sizes"). */
export const DEFAULT_RUN_BOUND_SECONDS = 600;

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return Math.floor(n);
}

export function loadBenchConfig(): BenchConfig {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new Error(
      'DATABASE_URL is required: the bench runs against a PostgreSQL server, e.g.\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench',
    );
  }
  const flag = (name: string): boolean =>
    ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());
  const quick = flag('BENCH_QUICK');
  const rows = intEnv('BENCH_ROWS', quick ? 60_000 : 2_000_000);
  return {
    databaseUrl,
    quick,
    rows,
    legSeconds: intEnv('BENCH_LEG_SECONDS', quick ? 2 : 10),
    reps: intEnv('BENCH_REPS', 5),
    connections: 10,
    ingestRowsPerRep: intEnv('BENCH_INGEST_ROWS', quick ? 2_000 : 10_000),
    queryCalls: intEnv('BENCH_QUERY_CALLS', quick ? 50 : 200),
    cursorPage: quick ? 50 : 1000,
    offsetDepth: Math.min(100_000, Math.floor(rows / 2)),
    exportRows: Math.min(rows, 1_000_000),
    embeddedReps: intEnv('BENCH_EMBEDDED_REPS', 5),
    repoRoot: resolve(__dirname, '..', '..', '..'),
    keepDatabase: flag('BENCH_KEEP_DB'),
    defaultSizes: SIZE_KNOBS.every((k) => (process.env[k] ?? '') === ''),
  };
}
