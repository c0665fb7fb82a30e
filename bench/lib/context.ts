import type { BenchConfig } from './config';
import type { BenchDatabase } from './db';
import { nowMs } from './stats';

/** What every target gets: settings, the bench database, a scratch directory and a progress line. */
export interface BenchContext {
  cfg: BenchConfig;
  db: BenchDatabase;
  workDir: string;
  progress(message: string): void;
  /** Figures one target hands to a later one (e.g. the server's audit-on req/s for the embedded row). */
  shared: Record<string, number>;
}

const started = nowMs();

export function progress(message: string): void {
  const s = ((nowMs() - started) / 1000).toFixed(0).padStart(4, ' ');
  process.stdout.write(`[bench ${s}s] ${message}\n`);
}
