import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AuditLifecycle } from '../../src/modules/audit/audit-lifecycle.service';
import { eventsOfRequest, rid } from '../support/audit';
import { bearer, loginAdmin } from '../support/factories';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  createServerDatabase,
  createTestApp,
  onServer,
  TestApp,
} from '../support/test-app';
import { TcpProxy } from './support/tcp-proxy';

const describeServer = onServer() ? describe : describe.skip;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createTask(t: TestApp, token: string, title: string): Promise<string> {
  const res = await t.http
    .post('/api/v1/tasks')
    .set(...bearer(token))
    .send({ title })
    .expect(201);
  return (res.body as { id: string }).id;
}

describeServer('faults on a real PostgreSQL server', () => {
  jest.setTimeout(120_000);

  it('a request whose connection is killed mid-transaction: 5xx, neither the change nor its success event, the error event reaches the trail', async () => {
    const t = await createTestApp();
    const admin = new Client({ connectionString: t.databaseUrl });
    await admin.connect();
    try {
      const token = await loginAdmin(t.http);
      const taskId = await createTask(t, token, 'Before');
      await t.query(
        `CREATE FUNCTION slow_tasks() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.title = 'Killed' THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$`,
      );
      await t.query(
        `CREATE TRIGGER slow_tasks AFTER UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION slow_tasks()`,
      );
      const id = rid('killed');
      const pending = t.http
        .patch(`/api/v1/tasks/${taskId}`)
        .set(...bearer(token))
        .set('X-Request-Id', id)
        .send({ title: 'Killed' });
      const responded = pending.then((r) => r);
      let killed = 0;
      for (let i = 0; i < 50 && killed === 0; i++) {
        await sleep(100);
        const rows = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'`,
        );
        killed = rows.rows[0].n;
      }
      expect(killed).toBeGreaterThan(0);
      const res = await responded;
      expect([500, 503]).toContain(res.status);
      expect(Object.keys(res.body as object).sort()).toEqual(['error', 'message', 'requestId', 'statusCode']);
      const { rows } = await admin.query<{ title: string }>('SELECT title FROM tasks WHERE id = $1', [
        taskId,
      ]);
      expect(rows[0].title).toBe('Before');
      await t.app.get(AuditLifecycle).replay();
      const events = await eventsOfRequest(t, id);
      expect(events.filter((e) => e.outcome === 'success')).toHaveLength(0);
      expect(events).toEqual([
        expect.objectContaining({
          action: 'task.updated',
          outcome: 'error',
          severity: 'critical',
          resource_id: taskId,
        }),
      ]);
    } finally {
      await admin.end();
      await t.close();
    }
  });

  it('the database gone for 10 s during a stream of mutations: clean failures, /health reports it, recovery without restart, spooled events replayed exactly once', async () => {
    const db = await createServerDatabase();
    const target = new URL(db.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const t = await createTestApp({}, { databaseUrl: viaProxy.toString() });
    try {
      const token = await loginAdmin(t.http);
      const taskId = await createTask(t, token, 'Stream 0');
      const results: { id: string; status: number; ms: number }[] = [];
      let healthDuringOutage = 0;
      const started = Date.now();
      let outageStarted = false;
      let outageEnded = false;
      for (let i = 1; Date.now() - started < 16_000; i++) {
        const elapsed = Date.now() - started;
        if (!outageStarted && elapsed > 2_000) {
          outageStarted = true;
          await proxy.outage();
          healthDuringOutage = (await t.http.get('/health')).status;
        }
        if (outageStarted && !outageEnded && elapsed > 12_000) {
          outageEnded = true;
          await proxy.restore();
        }
        const id = rid('stream');
        const t0 = Date.now();
        const res = await t.http
          .patch(`/api/v1/tasks/${taskId}`)
          .set(...bearer(token))
          .set('X-Request-Id', id)
          .send({ title: `Stream ${i}` });
        results.push({ id, status: res.status, ms: Date.now() - t0 });
        if (res.status >= 500)
          expect(Object.keys(res.body as object).sort()).toEqual([
            'error',
            'message',
            'requestId',
            'statusCode',
          ]);
        await sleep(50);
      }
      expect(healthDuringOutage).toBe(503);
      const ok = results.filter((r) => r.status === 200);
      const failed = results.filter((r) => r.status >= 500);
      expect(failed.length).toBeGreaterThan(0);
      expect(ok.length).toBeGreaterThan(0);
      expect(results.every((r) => r.status === 200 || r.status === 500 || r.status === 503)).toBe(true);
      // Recovered without a restart.
      expect(results[results.length - 1].status).toBe(200);
      await t.http.get('/health').expect(200);
      // Replay (the timer would do it within 10 s) — twice, to prove idempotence.
      await t.app.get(AuditLifecycle).replay();
      await t.app.get(AuditLifecycle).replay();
      for (const r of results) {
        const events = await eventsOfRequest(t, r.id);
        if (r.status === 200)
          expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(['task.updated:success']);
        else expect(events).toHaveLength(1);
      }

      console.log(
        `outage test: ${results.length} requests, ${ok.length} ok, ${failed.length} failed cleanly, slowest ${Math.max(...results.map((r) => r.ms))} ms`,
      );
    } finally {
      await t.close();
      await proxy.stop();
      await db.drop();
    }
  });

  it('the app SIGKILLed under load and restarted: every committed change has exactly its success event', async () => {
    const db = await createServerDatabase();
    const work = mkdtempSync(join(tmpdir(), 'sigkill-'));
    const port = 31000 + Math.floor(Math.random() * 2000);
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(port),
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      JWT_SECRET: 'sigkill-test-secret-long-enough-0000000',
      AUDIT_SIGNING_KEY: 'sigkill-test-audit-key-long-enough-00000',
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      ATTACHMENTS_DIR: join(work, 'att'),
      AUDIT_SPOOL_DIR: join(work, 'spool'),
      REMINDER_SCHEDULER_ENABLED: 'false',
    };
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        await sleep(200);
        try {
          if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
        } catch {
          // not up yet
        }
      }
      throw new Error('app did not start');
    };
    const base = `http://127.0.0.1:${port}/api/v1`;
    let child = await start();
    const created: string[] = [];
    let stop = false;
    try {
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const res = await fetch(`${base}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
              body: JSON.stringify({ title: `w${w}-${i}` }),
            });
            if (res.status === 201) created.push(((await res.json()) as { id: string }).id);
          } catch {
            return; // the server died under us
          }
        }
      };
      const workers = Array.from({ length: 10 }, (_, w) => worker(w));
      await sleep(3000);
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      child = await start();
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        const orphanTasks = await c.query(
          `SELECT t.id FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM audit_logs a WHERE a.action = 'task.created' AND a.outcome = 'success' AND a.resource_id = t.id::text)`,
        );
        const orphanEvents = await c.query(
          `SELECT a.resource_id FROM audit_logs a WHERE a.action = 'task.created' AND a.outcome = 'success' AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id::text = a.resource_id)`,
        );
        const doubled = await c.query(
          `SELECT resource_id FROM audit_logs WHERE action = 'task.created' AND outcome = 'success' GROUP BY resource_id HAVING count(*) > 1`,
        );
        const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
        expect(orphanTasks.rows).toEqual([]);
        expect(orphanEvents.rows).toEqual([]);
        expect(doubled.rows).toEqual([]);
        expect(rows[0].n).toBeGreaterThanOrEqual(created.length);
        expect(created.length).toBeGreaterThan(10);
        const acknowledged = await c.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[])',
          [created],
        );
        expect(acknowledged.rows[0].n).toBe(created.length);
        const kinds = (
          await c.query<{ action: string }>(
            `SELECT action FROM audit_logs WHERE category = 'system' ORDER BY seq`,
          )
        ).rows.map((r) => r.action);
        // Killed, not stopped: no system.stopped between the two starts.
        expect(kinds).toEqual(['system.started', 'system.started']);

        console.log(
          `SIGKILL test: ${created.length} acknowledged creates, ${rows[0].n} rows, every one with exactly one task.created event`,
        );
      } finally {
        await c.end();
      }
    } finally {
      stop = true;
      child.kill('SIGKILL');
      await sleep(200);
      await db.drop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
