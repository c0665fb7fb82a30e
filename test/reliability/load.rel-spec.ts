import { percentile } from '../../bench/lib/stats';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { AuditSealer } from '../../src/modules/audit/integrity/audit-sealer.service';
import { AuditVerifier } from '../../src/modules/audit/integrity/audit-verifier.service';
import { createUser, loginAdmin } from '../support/factories';
import { createTask } from '../support/tasks';
import { createTestApp, onServer, TestApp } from '../support/test-app';

const describeServer = onServer() ? describe : describe.skip;
const CLIENTS = 50;
const DURATION_MS = Number(process.env.LOAD_DURATION_MS ?? 30_000);

describeServer('load: 50 concurrent clients doing task mutations', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ DB_POOL_SIZE: '20' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('zero 5xx, one success event per committed mutation', async () => {
    const server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
    const adminToken = await loginAdmin(t.http);
    const users = await Promise.all(Array.from({ length: 10 }, () => createUser(t.http, adminToken)));
    const latencies: number[] = [];
    const byStatus = new Map<number, number>();
    const committed = { created: 0, updated: 0, deleted: 0 };
    const deadline = Date.now() + DURATION_MS;

    const client = async (c: number) => {
      const user = users[c % users.length];
      const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
      const mine: string[] = [(await createTask(t.http, user.token, { title: `seed ${c}` })).id];
      committed.created++;
      for (let i = 0; Date.now() < deadline; i++) {
        const op = i % 5;
        const t0 = performance.now();
        let res;
        if (op === 0 || mine.length === 0) {
          res = await fetch(`${base}/tasks`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ title: `c${c} task ${i}`, priority: 'low' }),
          });
          const body = (await res.json()) as { id?: string };
          if (res.status === 201 && body.id) {
            mine.push(body.id);
            committed.created++;
          }
        } else if (op === 4 && mine.length > 1) {
          const id = mine.shift() as string;
          res = await fetch(`${base}/tasks/${id}`, { method: 'DELETE', headers });
          await res.arrayBuffer();
          if (res.status === 204) committed.deleted++;
        } else {
          const id = mine[i % mine.length];
          res = await fetch(`${base}/tasks/${id}`, {
            method: 'PATCH',
            headers,
            body: JSON.stringify({ title: `c${c} edit ${i}`, status: i % 2 ? 'in_progress' : 'todo' }),
          });
          await res.arrayBuffer();
          if (res.status === 200) committed.updated++;
        }
        latencies.push(performance.now() - t0);
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    const fiveXX = [...byStatus.entries()].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);
    const events = await t.query<{ action: string; n: number }>(
      `SELECT action, count(*)::int AS n FROM audit_logs WHERE outcome = 'success' AND action IN ('task.created', 'task.updated', 'task.deleted') GROUP BY action`,
    );
    const count = (a: string) => events.find((e) => e.action === a)?.n ?? 0;
    const total = latencies.length;

    console.log(
      `load: ${total} requests in ${DURATION_MS / 1000} s (${Math.round(total / (DURATION_MS / 1000))} req/s), statuses ${JSON.stringify(Object.fromEntries(byStatus))}, ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ` +
        `committed created/updated/deleted ${committed.created}/${committed.updated}/${committed.deleted}, events ${count('task.created')}/${count('task.updated')}/${count('task.deleted')}`,
    );
    expect(fiveXX).toBe(0);
    expect(total).toBeGreaterThan(CLIENTS * 10);
    expect(count('task.created')).toBe(committed.created);
    expect(count('task.updated')).toBe(committed.updated);
    expect(count('task.deleted')).toBe(committed.deleted);

    // The integrity side holds under load too: seal everything, then the chain verifies.
    const sealed = await t.app.get(AuditSealer).sealOnce();
    const verdict = await t.app.get(TransactionRunner).run(() => t.app.get(AuditVerifier).verify());
     
    console.log(
      `load: sealed ${sealed.sealed} events; verify ${JSON.stringify({ valid: verdict.valid, checked: verdict.checked, unsealed: verdict.unsealed })}`,
    );
    expect(verdict).toMatchObject({ valid: true, firstBrokenSeq: null, unsealed: 0 });
    expect(verdict.checked).toBeGreaterThanOrEqual(total);
  });
});
