import { ReminderDispatcher } from '../src/modules/reminders/reminder-dispatcher';
import { auditEvents, eventsOfRequest, rid } from './support/audit';
import { expectErrorShape } from './support/error-shape';
import { bearer, createUser, loginAdmin, TestUser } from './support/factories';
import { createTask } from './support/tasks';
import { createTestApp, TestApp } from './support/test-app';
import { withFailingTrigger } from './support/failing-trigger';

describe('audit capture (tasks, attachments, reminders)', () => {
  let t: TestApp;
  let adminToken: string;
  let adminId: string;
  let ann: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await loginAdmin(t.http);
    adminId = ((await t.http.get('/api/v1/auth/me').set(...bearer(adminToken))).body as { id: string }).id;
    ann = await createUser(t.http, adminToken, { displayName: 'Ann Lee' });
    bob = await createUser(t.http, adminToken, { displayName: 'Bob Stone' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('task.created with the caller as actor and every field as a creation', async () => {
    const id = rid('task-create');
    const res = await t.http
      .post('/api/v1/tasks')
      .set(...bearer(ann.token))
      .set('X-Request-Id', id)
      .send({ title: 'Pay rent', priority: 'high', assigneeId: bob.id })
      .expect(201);
    const task = res.body as { id: string };
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'task.created',
      category: 'task',
      outcome: 'success',
      actor_type: 'user',
      actor_id: ann.id,
      actor_display: `Ann Lee <${ann.email}>`,
      resource_type: 'task',
      resource_id: task.id,
      resource_display: 'Pay rent',
      status_code: 201,
      description: 'Ann Lee created task “Pay rent”',
      changes: {
        title: { from: null, to: 'Pay rent' },
        status: { from: null, to: 'todo' },
        priority: { from: null, to: 'high' },
        ownerId: { from: null, to: ann.id },
        assigneeId: { from: null, to: bob.id },
        description: { from: null, to: null },
        dueAt: { from: null, to: null },
      },
    });
  });

  it('a 400 on POST /tasks is task.created with outcome failure and status 400', async () => {
    const id = rid('task-400');
    await t.http
      .post('/api/v1/tasks')
      .set(...bearer(ann.token))
      .set('X-Request-Id', id)
      .send({ title: '', priority: 'urgent' })
      .expect(400);
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'task.created',
      outcome: 'failure',
      severity: 'warning',
      status_code: 400,
      actor_id: ann.id,
      changes: null,
      error_type: 'BadRequestException',
    });
    expect(events[0].error_message).toMatch(/title/);
    expect(events[0].description).toMatch(/^Ann Lee tried to create task/);
  });

  it('PATCH of status records {status: {from, to}}; a no-op PATCH records nothing', async () => {
    const task = await createTask(t.http, ann.token, { title: 'Water plants' });
    const id = rid('task-patch');
    await t.http
      .patch(`/api/v1/tasks/${task.id}`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', id)
      .send({ status: 'done' })
      .expect(200);
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'task.updated',
      resource_id: task.id,
      changes: { status: { from: 'todo', to: 'done' } },
      description: 'Ann Lee changed task “Water plants” status from todo to done',
    });
    const noop = rid('task-noop');
    await t.http
      .patch(`/api/v1/tasks/${task.id}`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', noop)
      .send({ status: 'done', title: 'Water plants' })
      .expect(200);
    expect(await eventsOfRequest(t, noop)).toHaveLength(0);
  });

  it('the admin who deletes another user’s task is the actor; the assignee’s 403 is access.denied', async () => {
    const task = await createTask(t.http, ann.token, { title: 'Shared chore', assigneeId: bob.id });
    const denied = rid('assignee-delete');
    expectErrorShape(
      await t.http
        .delete(`/api/v1/tasks/${task.id}`)
        .set(...bearer(bob.token))
        .set('X-Request-Id', denied),
      403,
    );
    expect(await eventsOfRequest(t, denied)).toEqual([
      expect.objectContaining({
        action: 'access.denied',
        actor_id: bob.id,
        resource_type: 'task',
        resource_id: task.id,
        status_code: 403,
        metadata: { attemptedAction: 'task.deleted' },
      }),
    ]);
    const id = rid('admin-delete');
    await t.http
      .delete(`/api/v1/tasks/${task.id}`)
      .set(...bearer(adminToken))
      .set('X-Request-Id', id)
      .expect(204);
    const [e] = await eventsOfRequest(t, id);
    expect(e).toMatchObject({
      action: 'task.deleted',
      actor_id: adminId,
      resource_id: task.id,
      resource_display: 'Shared chore',
      changes: { title: { from: 'Shared chore', to: null }, ownerId: { from: ann.id, to: null } },
    });
    // Another user's invisible task is a 404 for them, recorded as a failure of the route's action.
    const hidden = await createTask(t.http, ann.token, { title: 'Private' });
    const notFound = rid('hidden');
    await t.http
      .patch(`/api/v1/tasks/${hidden.id}`)
      .set(...bearer(bob.token))
      .set('X-Request-Id', notFound)
      .send({ title: 'x' })
      .expect(404);
    expect(await eventsOfRequest(t, notFound)).toEqual([
      expect.objectContaining({
        action: 'task.updated',
        outcome: 'failure',
        status_code: 404,
        resource_display: null,
      }),
    ]);
  });

  it('attachment.uploaded, attachment.downloaded, attachment.deleted', async () => {
    const task = await createTask(t.http, ann.token, { title: 'With files' });
    const up = rid('upload');
    const res = await t.http
      .post(`/api/v1/tasks/${task.id}/attachments`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', up)
      .attach('file', Buffer.from('hello, audit'), { filename: 'notes.txt', contentType: 'text/plain' })
      .expect(201);
    const att = res.body as { id: string; sha256: string };
    expect(await eventsOfRequest(t, up)).toEqual([
      expect.objectContaining({
        action: 'attachment.uploaded',
        actor_id: ann.id,
        resource_type: 'attachment',
        resource_id: att.id,
        resource_display: 'notes.txt',
        changes: expect.objectContaining({
          filename: { from: null, to: 'notes.txt' },
          size: { from: null, to: 12 },
          taskId: { from: null, to: task.id },
        }),
      }),
    ]);
    const down = rid('download');
    await t.http
      .get(`/api/v1/attachments/${att.id}/content`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', down)
      .expect(200);
    expect(await eventsOfRequest(t, down)).toEqual([
      expect.objectContaining({
        action: 'attachment.downloaded',
        outcome: 'success',
        resource_id: att.id,
        status_code: 200,
        metadata: { taskId: task.id, size: 12, sha256: att.sha256 },
      }),
    ]);
    const del = rid('att-delete');
    await t.http
      .delete(`/api/v1/attachments/${att.id}`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', del)
      .expect(204);
    expect(await eventsOfRequest(t, del)).toEqual([
      expect.objectContaining({ action: 'attachment.deleted', resource_id: att.id, status_code: 204 }),
    ]);
    const big = rid('upload-415');
    await t.http
      .post(`/api/v1/tasks/${task.id}/attachments`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', big)
      .attach('file', Buffer.from('MZ'), { filename: 'x.exe', contentType: 'application/x-msdownload' })
      .expect(415);
    expect(await eventsOfRequest(t, big)).toEqual([
      expect.objectContaining({ action: 'attachment.uploaded', outcome: 'failure', status_code: 415 }),
    ]);
  });

  it('reminder.created, reminder.deleted, and reminder.sent by the system actor exactly once', async () => {
    const task = await createTask(t.http, ann.token, { title: 'Call mum', assigneeId: bob.id });
    const create = rid('reminder-create');
    const remindAt = new Date(Date.now() + 60_000).toISOString();
    const res = await t.http
      .post(`/api/v1/tasks/${task.id}/reminders`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', create)
      .send({ remindAt, note: 'Sunday' })
      .expect(201);
    const reminder = res.body as { id: string };
    expect(await eventsOfRequest(t, create)).toEqual([
      expect.objectContaining({
        action: 'reminder.created',
        actor_id: ann.id,
        resource_type: 'reminder',
        resource_id: reminder.id,
        changes: {
          taskId: { from: null, to: task.id },
          remindAt: { from: null, to: remindAt },
          note: { from: null, to: 'Sunday' },
        },
      }),
    ]);
    await t.query(`ALTER TABLE reminders DISABLE TRIGGER USER`).catch(() => undefined);
    await t.query(`UPDATE reminders SET remind_at = now() - interval '1 minute' WHERE id = $1`, [
      reminder.id,
    ]);
    const dispatcher = t.app.get(ReminderDispatcher);
    expect(await dispatcher.dispatchDue()).toBe(1);
    expect(await dispatcher.dispatchDue()).toBe(0);
    const sent = await auditEvents(t, `action = 'reminder.sent' AND resource_id = $1`, [reminder.id]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      actor_type: 'system',
      actor_id: null,
      outcome: 'success',
      category: 'reminder',
      request_id: null,
      metadata: expect.objectContaining({ taskId: task.id, recipientId: bob.id }),
    });
    const other = await t.http
      .post(`/api/v1/tasks/${task.id}/reminders`)
      .set(...bearer(ann.token))
      .send({ remindAt, note: 'Later' })
      .expect(201);
    const del = rid('reminder-delete');
    await t.http
      .delete(`/api/v1/reminders/${(other.body as { id: string }).id}`)
      .set(...bearer(ann.token))
      .set('X-Request-Id', del)
      .expect(204);
    expect(await eventsOfRequest(t, del)).toEqual([
      expect.objectContaining({
        action: 'reminder.deleted',
        changes: expect.objectContaining({ note: { from: 'Later', to: null } }),
      }),
    ]);
  });

  it('a database failure in the middle of a task update leaves neither the change nor a success event', async () => {
    const task = await createTask(t.http, ann.token, { title: 'Fragile' });
    await withFailingTrigger(
      t,
      {
        name: 'fail_tasks',
        timing: 'AFTER UPDATE',
        table: 'tasks',
        when: `NEW.status = 'in_progress'`,
        message: 'disk on fire',
      },
      async () => {
        const id = rid('task-db-fail');
        expectErrorShape(
          await t.http
            .patch(`/api/v1/tasks/${task.id}`)
            .set(...bearer(ann.token))
            .set('X-Request-Id', id)
            .send({ status: 'in_progress', priority: 'high' }),
          500,
        );
        const [row] = await t.query<{ status: string; priority: string }>(
          'SELECT status, priority FROM tasks WHERE id = $1',
          [task.id],
        );
        expect(row).toEqual({ status: 'todo', priority: 'medium' });
        expect(await eventsOfRequest(t, id)).toEqual([
          expect.objectContaining({
            action: 'task.updated',
            outcome: 'error',
            severity: 'error',
            status_code: 500,
          }),
        ]);
      },
    );
  });

  it('every catalogue action of the domain appears, and every success event matches a committed change', async () => {
    const rows = await t.query<{ action: string }>(
      `SELECT DISTINCT action FROM audit_logs WHERE outcome = 'success'`,
    );
    const actions = rows.map((r) => r.action);
    for (const a of [
      'task.created',
      'task.updated',
      'task.deleted',
      'attachment.uploaded',
      'attachment.downloaded',
      'attachment.deleted',
      'reminder.created',
      'reminder.deleted',
      'reminder.sent',
      'user.created',
      'auth.login',
    ]) {
      expect(actions).toContain(a);
    }
    const orphans = await t.query(
      `SELECT a.resource_id FROM audit_logs a WHERE a.action = 'task.created' AND a.outcome = 'success' AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.id::text = a.resource_id) AND NOT EXISTS (SELECT 1 FROM audit_logs d WHERE d.action = 'task.deleted' AND d.outcome = 'success' AND d.resource_id = a.resource_id)`,
    );
    expect(orphans).toEqual([]);
  });
});
