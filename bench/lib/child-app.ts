import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { nowMs, sleep } from './stats';

export const BENCH_JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0000000';
export const BENCH_SIGNING_KEY = 'bench-audit-signing-key-that-is-long-enough-00';
export const BENCH_ADMIN_EMAIL = 'bench-admin@bench.example';
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password-123';

/** Every child app started by the bench, so that a failure or Ctrl-C stops them all. */
const running = new Set<ChildApp>();

export async function freePort(): Promise<number> {
  return new Promise((resolveP, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolveP(port));
    });
  });
}

export interface MemorySample {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS / VmHWM of a process, from /proc (Linux). */
export function readMemory(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : NaN;
  };
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (echo 5 > clear_refs). Returns false when the kernel refuses. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface ChildAppOptions {
  name: string;
  repoRoot: string;
  workDir: string;
  /** Bench database URL; undefined = embedded PGlite in memory. */
  databaseUrl?: string;
  auditEnabled: boolean;
  env?: Record<string, string>;
}

/** The app under test, as a separate `node dist/src/main.js` process. */
export class ChildApp {
  readonly baseUrl: string;
  private exited = false;
  private readonly log: string[] = [];

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly proc: ChildProcess,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.log.push(line);
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.once('exit', () => {
      this.exited = true;
      running.delete(this);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async start(opts: ChildAppOptions): Promise<ChildApp> {
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      JWT_SECRET: BENCH_JWT_SECRET,
      AUDIT_SIGNING_KEY: BENCH_SIGNING_KEY,
      ADMIN_EMAIL: BENCH_ADMIN_EMAIL,
      ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
      AUDIT_ENABLED: String(opts.auditEnabled),
      REMINDER_SCHEDULER_ENABLED: 'false',
      ATTACHMENTS_DIR: join(opts.workDir, `${opts.name}-attachments`),
      AUDIT_SPOOL_DIR: join(opts.workDir, `${opts.name}-spool`),
      AUDIT_ARCHIVE_DIR: join(opts.workDir, `${opts.name}-archive`),
      ...opts.env,
    };
    if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
    else env.EMBEDDED_DB_DIR = 'memory';
    const proc = spawn(
      process.execPath,
      // BENCH_APP_NODE_ARGS: node flags for every app, to profile them under the bench's load
      // (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
      [
        ...(process.env.BENCH_APP_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        join(opts.repoRoot, 'dist', 'src', 'main.js'),
      ],
      {
        cwd: opts.workDir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const app = new ChildApp(opts.name, port, proc);
    running.add(app);
    try {
      await app.waitHealthy(90_000);
    } catch (e) {
      await app.stop();
      throw e;
    }
    return app;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = nowMs() + timeoutMs;
    while (nowMs() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited during start-up:\n${this.tail()}`);
      try {
        const res = await fetch(`${this.baseUrl}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} did not become healthy in ${timeoutMs} ms:\n${this.tail()}`);
  }

  tail(lines = 30): string {
    return this.log.slice(-lines).join('\n');
  }

  memory(): MemorySample {
    return readMemory(this.pid);
  }

  async stop(): Promise<void> {
    if (this.exited || this.proc.exitCode !== null) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const killed = await Promise.race([done.then(() => true), sleep(15_000).then(() => false)]);
    if (!killed) {
      this.proc.kill('SIGKILL');
      await done;
    }
  }
}

/** Stops every child app still running (failure, SIGINT). */
export async function stopAllChildApps(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop().catch(() => undefined)));
}
