import { DataSource } from 'typeorm';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditEventFactory } from '../src/modules/audit/audit-event.factory';
import { AuditWriter } from '../src/modules/audit/audit-writer';
import { eventsOfRequest, rid } from './support/audit';
import { expectErrorShape } from './support/error-shape';
import { bearer, loginAdmin } from './support/factories';
import { createTask } from './support/tasks';
import { createTestApp, TestApp } from './support/test-app';
import { withFailingTrigger } from './support/failing-trigger';

/**
 * The request's audit event travels with its COMMIT: once the one-row INSERT is prepared on a
 * connection, the event is sent as `EXECUTE <insert>(<literals>); COMMIT` in one message (one round
 * trip fewer per audited request). The same guarantees must hold: the change commits if and only if
 * its event does, and the stored event is exactly what the parameterised INSERT would have stored,
 * whatever the text holds.
 */
describe('Audit event sent with the COMMIT', () => {
  let t: TestApp;
  let token: string;
  let atCommit: jest.SpyInstance<boolean, [string]>;

  beforeAll(async () => {
    t = await createTestApp();
    token = await loginAdmin(t.http);
    atCommit = jest.spyOn(t.app.get(TransactionRunner), 'atCommit');
  });

  afterAll(async () => {
    atCommit.mockRestore();
    await t.close();
  });

  /** PATCHes the task's description `n` times in a row; returns the request ids. */
  async function patchDescriptions(taskId: string, texts: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const description of texts) {
      const id = rid('commit-message');
      await t.http
        .patch(`/api/v1/tasks/${taskId}`)
        .set(...bearer(token))
        .set('X-Request-Id', id)
        .send({ description })
        .expect(200);
      ids.push(id);
    }
    return ids;
  }

  it('sends the event with the COMMIT once the INSERT is prepared, and stores hostile text exactly', async () => {
    const task = await createTask(t.http, token, { description: 'start' });
    const hostile = [
      `O'Brien's "quoted" text`,
      "back\\slash \\\\ double, E'\\x41' and \\u0041",
      "'); DELETE FROM tasks; --",
      'line\nbreak\ttab\r\n',
      'é ü 中文 😀 👩‍👩‍👧‍👦 \u2028 \u200f',
      '$1 $$dollar$$ $tag$ ::text',
    ];
    atCommit.mockClear();
    // Sequential requests reuse the pool's idle connection, so after the first (which prepares the
    // INSERT on a connection that had not run it yet) the events ride on the COMMIT.
    const ids = await patchDescriptions(task.id, ['warm-up', ...hostile]);
    const sentWithCommit = atCommit.mock.results.filter((r) => r.value === true).length;
    expect(sentWithCommit).toBeGreaterThanOrEqual(hostile.length - 1);

    let previous = 'start';
    for (const [i, id] of ids.entries()) {
      const description = i === 0 ? 'warm-up' : hostile[i - 1];
      const events = await eventsOfRequest(t, id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: 'task.updated',
        outcome: 'success',
        resource_id: task.id,
        status_code: 200,
        changes: { description: { from: previous, to: description } },
      });
      previous = description;
    }
    const [row] = await t.query<{ description: string }>('SELECT description FROM tasks WHERE id = $1', [
      task.id,
    ]);
    expect(row.description).toBe(hostile[hostile.length - 1]);
  });

  it('a failing event sent with the COMMIT rolls the change back and the request fails (fail closed)', async () => {
    const task = await createTask(t.http, token, { description: 'kept' });
    await patchDescriptions(task.id, ['prepared first']);
    await withFailingTrigger(
      t,
      {
        name: 'reject_marked',
        timing: 'BEFORE INSERT',
        table: 'audit_logs',
        when: `NEW.changes::text LIKE '%reject-me%'`,
        message: 'audit store refused the event',
      },
      async () => {
        atCommit.mockClear();
        const id = rid('commit-message-fail');
        const res = await t.http
          .patch(`/api/v1/tasks/${task.id}`)
          .set(...bearer(token))
          .set('X-Request-Id', id)
          .send({ description: 'reject-me' });
        expectErrorShape(res, 500);
        expect(atCommit.mock.results.some((r) => r.value === true)).toBe(true);
        const [row] = await t.query<{ description: string }>('SELECT description FROM tasks WHERE id = $1', [
          task.id,
        ]);
        expect(row.description).toBe('prepared first');
        // Nothing of the request committed; its failure is recorded on its own (the failure event does
        // not carry the refused change, so the trigger lets it through).
        const events = await eventsOfRequest(t, id);
        expect(events).toEqual([
          expect.objectContaining({ action: 'task.updated', outcome: 'error', status_code: 500 }),
        ]);
        expect(events[0].error_message).toContain('audit store refused the event');
      },
    );
    // The connection is usable afterwards: the next audited change commits with its event.
    const [next] = await patchDescriptions(task.id, ['after the failure']);
    expect(await eventsOfRequest(t, next)).toHaveLength(1);
  });

  it('only the run that opened the transaction can send a statement with its COMMIT', async () => {
    const runner = t.app.get(TransactionRunner);
    atCommit.mockClear();
    const nested = await runner.run(() => runner.run(() => Promise.resolve(runner.atCommit('SELECT 1'))));
    expect(nested).toBe(false);
    const outside = runner.atCommit('SELECT 1');
    expect(outside).toBe(false);
    const own = await runner.run(() => Promise.resolve(runner.atCommit('SELECT 1')));
    expect(own).toBe(true);
  });

  it('a new event is a plain INSERT (a second copy of its id fails); a replay of it stores nothing twice', async () => {
    const dataSource = t.app.get(DataSource);
    const writer = t.app.get(AuditWriter);
    const row = t.app.get(AuditEventFactory).build({
      action: 'system.started',
      actor: { type: 'system', id: null, name: 'commit-message test' },
      description: `plain insert ${rid('plain')}`,
    });
    const count = async (): Promise<number> =>
      Number((await t.query<{ n: string }>('SELECT count(*) AS n FROM audit_logs WHERE id = $1', [row.id]))[0].n);

    await dataSource.transaction((manager) => writer.insertNew(manager, row));
    expect(await count()).toBe(1);
    // The request path never sends an id twice; if it ever did, the request fails instead of the event
    // being dropped without a word (ON CONFLICT DO NOTHING would have dropped it).
    await expect(dataSource.transaction((manager) => writer.insertNew(manager, row))).rejects.toMatchObject({
      code: '23505',
    });
    // A spool replay of the same event, alone or in a batch, is idempotent.
    await dataSource.transaction((manager) => writer.insert(manager, [row]));
    await dataSource.transaction((manager) => writer.insert(manager, [row, row]));
    expect(await count()).toBe(1);
  });
});
