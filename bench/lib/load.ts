import autocannon from 'autocannon';
import { httpJson } from './http';
import { percentile } from './stats';

/**
 * Load on an app before its measured legs (targets 1 and 6). After 3 s (~1,500 PATCHes) the first
 * measured leg still paid for the app's warm-up (V8 optimising the request path): +8 % CPU per request
 * unaudited, +20 % audited, against their later legs; after 12 s the first legs matched the later ones.
 * BENCH_QUICK keeps it short.
 */
export const warmUpSeconds = (cfg: { quick: boolean; legSeconds: number }, full = 12): number =>
  cfg.quick ? Math.min(3, cfg.legSeconds) : full;

/** One autocannon leg of PATCH /api/v1/tasks/:id, each request a real change. */
export interface LegResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  durationS: number;
}

export async function createTasks(baseUrl: string, token: string, n: number): Promise<string[] | undefined> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await httpJson(baseUrl, 'POST', '/api/v1/tasks', token, {
      title: `Bench task ${i}`,
      priority: 'low',
    });
    if (res.status === 404) return undefined;
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`POST /api/v1/tasks → ${res.status} ${res.body}`);
    ids.push((JSON.parse(res.body) as { id: string }).id);
  }
  return ids;
}

/**
 * Rotates over the tasks (more tasks than connections, so two in-flight requests never touch the same
 * row) and flips `priority` between high and low on each visit, so every PATCH changes a field.
 */
export class PatchRotation {
  private i = 0;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly taskIds: string[],
    token: string,
  ) {
    this.headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  }

  next(): { path: string; body: string; headers: Record<string, string> } {
    const n = this.i++;
    const k = n % this.taskIds.length;
    const visit = Math.floor(n / this.taskIds.length);
    // Task k was created as `low`: visits alternate high, low, high …
    const priority = visit % 2 === 0 ? 'high' : 'low';
    return {
      path: `/api/v1/tasks/${this.taskIds[k]}`,
      body: JSON.stringify({ priority }),
      headers: this.headers,
    };
  }
}

export function runPatchLeg(
  baseUrl: string,
  rotation: PatchRotation,
  seconds: number,
  connections: number,
): Promise<LegResult> {
  return new Promise((resolveP, reject) => {
    const latencies: number[] = [];
    let non2xx = 0;
    const instance = autocannon(
      {
        url: baseUrl,
        connections,
        duration: seconds,
        method: 'PATCH',
        requests: [
          {
            method: 'PATCH',
            setupRequest: (req) => ({ ...req, ...rotation.next() }),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        resolveP({
          rps: latencies.length / result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          requests: latencies.length + non2xx,
          non2xx: Math.max(non2xx, result.non2xx),
          errors: result.errors,
          durationS: result.duration,
        });
      },
    );
    // Exact per-request latencies (autocannon's histogram rounds to whole milliseconds).
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else non2xx++;
    });
  });
}
