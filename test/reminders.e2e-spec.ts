import { ReminderDispatcher } from '../src/modules/reminders/reminder-dispatcher';
import { bearer, createUser, loginAdmin, TestUser } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { createTask, TaskBody } from './support/tasks';
import { createServerDatabase, createTestApp, onServer, TestApp } from './support/test-app';

interface ReminderBody {
  id: string;
  taskId: string;
  remindAt: string;
  note: string | null;
  sentAt: string | null;
  createdBy: string;
  createdAt: string;
}

interface NotificationBody {
  id: string;
  kind: string;
  taskId: string;
  reminderId: string;
  title: string;
  body: string;
  createdAt: string;
  readAt: string | null;
}

const inHours = (h: number): string => new Date(Date.now() + h * 3600_000).toISOString();
const messages = (res: { body: unknown }): string =>
  JSON.stringify((res.body as { message: unknown }).message);

describe('reminders and notifications', () => {
  let t: TestApp;
  let adminToken: string;
  let owner: TestUser;
  let assignee: TestUser;
  let stranger: TestUser;
  let task: TaskBody;
  let dispatcher: ReminderDispatcher;

  const addReminder = (token: string, taskId: string, body: Record<string, unknown>) =>
    t.http
      .post(`/api/v1/tasks/${taskId}/reminders`)
      .set(...bearer(token))
      .send(body);
  const makeDue = (id: string) =>
    t.query(`UPDATE reminders SET remind_at = now() - interval '1 minute' WHERE id = $1`, [id]);
  const notificationsOf = async (token: string, query = '') =>
    (
      (
        await t.http
          .get(`/api/v1/notifications${query}`)
          .set(...bearer(token))
          .expect(200)
      ).body as {
        items: NotificationBody[];
      }
    ).items;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await loginAdmin(t.http);
    owner = await createUser(t.http, adminToken);
    assignee = await createUser(t.http, adminToken);
    stranger = await createUser(t.http, adminToken);
    task = await createTask(t.http, owner.token, { title: 'Pay invoice', assigneeId: assignee.id });
    dispatcher = t.app.get(ReminderDispatcher);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('reminder routes', () => {
    it('creates a reminder (201) and stores it unsent', async () => {
      const remindAt = inHours(2);
      const res = await addReminder(owner.token, task.id, { remindAt, note: 'Before noon' }).expect(201);
      const body = res.body as ReminderBody;
      expect(Object.keys(body).sort()).toEqual(
        ['createdAt', 'createdBy', 'id', 'note', 'remindAt', 'sentAt', 'taskId'].sort(),
      );
      expect(body).toMatchObject({
        taskId: task.id,
        remindAt,
        note: 'Before noon',
        sentAt: null,
        createdBy: owner.id,
      });
      const [row] = await t.query<{ remind_at: Date; sent_at: Date | null; created_by: string }>(
        'SELECT * FROM reminders WHERE id = $1',
        [body.id],
      );
      expect(row.remind_at.toISOString()).toBe(remindAt);
      expect(row.sent_at).toBeNull();
      expect(row.created_by).toBe(owner.id);
    });

    it('400 naming the field: missing, malformed or past remindAt, long note, unknown field, bad task id', async () => {
      const [{ count: before }] = await t.query<{ count: string }>('SELECT count(*) FROM reminders');
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'remindAt'],
        [{ remindAt: 'next tuesday' }, 'remindAt'],
        [{ remindAt: '2030-02-30T10:00:00Z' }, 'remindAt'],
        [{ remindAt: inHours(-1) }, 'remindAt'],
        [{ remindAt: inHours(1), note: 'x'.repeat(501) }, 'note'],
        [{ remindAt: inHours(1), note: 5 }, 'note'],
        [{ remindAt: inHours(1), sentAt: inHours(1) }, 'sentAt'],
      ];
      for (const [body, field] of cases) {
        const res = await addReminder(owner.token, task.id, body);
        expectErrorShape(res, 400);
        expect(messages(res)).toContain(field);
      }
      const past = await addReminder(owner.token, task.id, { remindAt: inHours(-1) });
      expect(messages(past)).toContain('remindAt must be in the future');
      const badTask = await addReminder(owner.token, 'nope', { remindAt: inHours(1) });
      expectErrorShape(badTask, 400);
      expect(messages(badTask)).toContain('taskId');
      const [{ count: after }] = await t.query<{ count: string }>('SELECT count(*) FROM reminders');
      expect(after).toBe(before);
    });

    it('lists a task’s reminders soonest first; a stranger gets 404', async () => {
      const other = await createTask(t.http, owner.token, { title: 'List me', assigneeId: assignee.id });
      const later = (await addReminder(owner.token, other.id, { remindAt: inHours(5) }).expect(201))
        .body as ReminderBody;
      const sooner = (await addReminder(assignee.token, other.id, { remindAt: inHours(1) }).expect(201))
        .body as ReminderBody;
      const res = await t.http
        .get(`/api/v1/tasks/${other.id}/reminders`)
        .set(...bearer(assignee.token))
        .expect(200);
      expect((res.body as { items: ReminderBody[] }).items).toEqual([sooner, later]);
      expectErrorShape(
        await t.http.get(`/api/v1/tasks/${other.id}/reminders`).set(...bearer(stranger.token)),
        404,
      );
      expectErrorShape(await addReminder(stranger.token, other.id, { remindAt: inHours(1) }), 404);
    });

    it('DELETE: creator, task owner or admin (204, row gone); others 403; a stranger 404', async () => {
      const byOwner = (await addReminder(owner.token, task.id, { remindAt: inHours(3) }).expect(201))
        .body as ReminderBody;
      const byAssignee = (await addReminder(assignee.token, task.id, { remindAt: inHours(3) }).expect(201))
        .body as ReminderBody;
      const third = (await addReminder(assignee.token, task.id, { remindAt: inHours(3) }).expect(201))
        .body as ReminderBody;

      expectErrorShape(
        await t.http.delete(`/api/v1/reminders/${byOwner.id}`).set(...bearer(stranger.token)),
        404,
      );
      expectErrorShape(
        await t.http.delete(`/api/v1/reminders/${byOwner.id}`).set(...bearer(assignee.token)),
        403,
      );
      await t.http
        .delete(`/api/v1/reminders/${byAssignee.id}`)
        .set(...bearer(assignee.token))
        .expect(204);
      await t.http
        .delete(`/api/v1/reminders/${third.id}`)
        .set(...bearer(owner.token))
        .expect(204);
      await t.http
        .delete(`/api/v1/reminders/${byOwner.id}`)
        .set(...bearer(adminToken))
        .expect(204);
      for (const id of [byOwner.id, byAssignee.id, third.id]) {
        expect(await t.query('SELECT id FROM reminders WHERE id = $1', [id])).toHaveLength(0);
      }
      expectErrorShape(
        await t.http.delete(`/api/v1/reminders/${byOwner.id}`).set(...bearer(adminToken)),
        404,
      );
      expectErrorShape(await t.http.delete('/api/v1/reminders/bad').set(...bearer(adminToken)), 400);
    });
  });

  describe('dispatch and notifications', () => {
    it('sends a due reminder once, to the assignee; not-yet-due ones wait', async () => {
      await t.query('UPDATE reminders SET sent_at = now() WHERE sent_at IS NULL'); // start clean
      const due = (
        await addReminder(owner.token, task.id, { remindAt: inHours(1), note: 'Pay it' }).expect(201)
      ).body as ReminderBody;
      const notYet = (await addReminder(owner.token, task.id, { remindAt: inHours(1) }).expect(201))
        .body as ReminderBody;
      await makeDue(due.id);

      expect(await dispatcher.dispatchDue()).toBe(1);
      expect(await dispatcher.dispatchDue()).toBe(0);

      const rows = await t.query<{ user_id: string; kind: string }>(
        'SELECT user_id, kind FROM notifications WHERE reminder_id = $1',
        [due.id],
      );
      expect(rows).toEqual([{ user_id: assignee.id, kind: 'reminder' }]);
      const [sent] = await t.query<{ sent_at: Date | null }>('SELECT sent_at FROM reminders WHERE id = $1', [
        due.id,
      ]);
      expect(sent.sent_at).toBeInstanceOf(Date);
      const [waiting] = await t.query<{ sent_at: Date | null }>(
        'SELECT sent_at FROM reminders WHERE id = $1',
        [notYet.id],
      );
      expect(waiting.sent_at).toBeNull();
      expect(await t.query('SELECT id FROM notifications WHERE reminder_id = $1', [notYet.id])).toHaveLength(
        0,
      );

      const items = await notificationsOf(assignee.token);
      expect(items[0]).toMatchObject({
        kind: 'reminder',
        taskId: task.id,
        reminderId: due.id,
        title: 'Reminder: Pay invoice',
        body: 'Pay it',
        readAt: null,
      });
      expect(Object.keys(items[0]).sort()).toEqual(
        ['body', 'createdAt', 'id', 'kind', 'readAt', 'reminderId', 'taskId', 'title'].sort(),
      );
      const list = await t.http
        .get(`/api/v1/tasks/${task.id}/reminders`)
        .set(...bearer(owner.token))
        .expect(200);
      const shown = (list.body as { items: ReminderBody[] }).items.find((r) => r.id === due.id);
      expect(shown?.sentAt).not.toBeNull();
      expect(await notificationsOf(owner.token)).toEqual([]);
      await t.query('DELETE FROM reminders WHERE id = $1', [notYet.id]);
    });

    it('goes to the owner when the task has no assignee', async () => {
      const solo = await createTask(t.http, owner.token, { title: 'Solo' });
      const r = (await addReminder(owner.token, solo.id, { remindAt: inHours(1) }).expect(201))
        .body as ReminderBody;
      await makeDue(r.id);
      expect(await dispatcher.dispatchDue()).toBe(1);
      const rows = await t.query<{ user_id: string }>(
        'SELECT user_id FROM notifications WHERE reminder_id = $1',
        [r.id],
      );
      expect(rows).toEqual([{ user_id: owner.id }]);
    });

    it('respects the batch size', async () => {
      const batchTask = await createTask(t.http, owner.token, { title: 'Batch' });
      for (let i = 0; i < 5; i++) {
        const r = (await addReminder(owner.token, batchTask.id, { remindAt: inHours(1) }).expect(201))
          .body as ReminderBody;
        await makeDue(r.id);
      }
      expect(await dispatcher.dispatchDue(2)).toBe(2);
      expect(await dispatcher.dispatchDue(2)).toBe(2);
      expect(await dispatcher.dispatchDue(2)).toBe(1);
      expect(await dispatcher.dispatchDue(2)).toBe(0);
      const [{ count }] = await t.query<{ count: string }>(
        `SELECT count(*) FROM notifications n JOIN reminders r ON r.id = n.reminder_id WHERE r.task_id = $1`,
        [batchTask.id],
      );
      expect(count).toBe('5');
    });

    it('lists, filters unread and marks read; another user’s notification is a 404', async () => {
      const items = await notificationsOf(owner.token);
      expect(items.length).toBeGreaterThanOrEqual(6);
      const times = items.map((n) => new Date(n.createdAt).getTime());
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      const target = items[0];

      expectErrorShape(
        await t.http.post(`/api/v1/notifications/${target.id}/read`).set(...bearer(stranger.token)),
        404,
      );
      expectErrorShape(
        await t.http.post(`/api/v1/notifications/${target.id}/read`).set(...bearer(assignee.token)),
        404,
      );
      await t.http
        .post(`/api/v1/notifications/${target.id}/read`)
        .set(...bearer(owner.token))
        .expect(204);
      const [row] = await t.query<{ read_at: Date | null }>(
        'SELECT read_at FROM notifications WHERE id = $1',
        [target.id],
      );
      expect(row.read_at).toBeInstanceOf(Date);
      // Idempotent: the first read time is kept.
      await t.http
        .post(`/api/v1/notifications/${target.id}/read`)
        .set(...bearer(owner.token))
        .expect(204);
      const [again] = await t.query<{ read_at: Date }>('SELECT read_at FROM notifications WHERE id = $1', [
        target.id,
      ]);
      expect(again.read_at.getTime()).toBe(row.read_at?.getTime());

      const unread = await notificationsOf(owner.token, '?unread=true');
      expect(unread.map((n) => n.id)).not.toContain(target.id);
      expect(unread).toHaveLength(items.length - 1);
      expect(unread.every((n) => n.readAt === null)).toBe(true);
      const all = await notificationsOf(owner.token, '?unread=false');
      expect(all.find((n) => n.id === target.id)?.readAt).not.toBeNull();

      for (const q of ['?unread=yes', '?unread=1', '?unread=', '?other=1']) {
        const res = await t.http.get(`/api/v1/notifications${q}`).set(...bearer(owner.token));
        expectErrorShape(res, 400);
      }
      expectErrorShape(await t.http.post('/api/v1/notifications/bad/read').set(...bearer(owner.token)), 400);
      expectErrorShape(await t.http.get('/api/v1/notifications'), 401);
    });

    it('deleting a task deletes its reminders; delivered notifications stay', async () => {
      const doomed = await createTask(t.http, owner.token, { title: 'Doomed' });
      const sent = (await addReminder(owner.token, doomed.id, { remindAt: inHours(1) }).expect(201))
        .body as ReminderBody;
      const pending = (await addReminder(owner.token, doomed.id, { remindAt: inHours(9) }).expect(201))
        .body as ReminderBody;
      await makeDue(sent.id);
      expect(await dispatcher.dispatchDue()).toBe(1);
      await t.http
        .delete(`/api/v1/tasks/${doomed.id}`)
        .set(...bearer(owner.token))
        .expect(204);
      expect(
        await t.query('SELECT id FROM reminders WHERE id IN ($1, $2)', [sent.id, pending.id]),
      ).toHaveLength(0);
      expect(await t.query('SELECT id FROM notifications WHERE reminder_id = $1', [sent.id])).toHaveLength(1);
      expect(await dispatcher.dispatchDue()).toBe(0);
    });
  });
});

(onServer() ? describe : describe.skip)('reminder dispatch race (PostgreSQL server)', () => {
  const COUNT = 200;
  let db: { url: string; drop(): Promise<void> };
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    db = await createServerDatabase();
    // One after the other: the first runs the migrations, the second finds them applied.
    a = await createTestApp({}, { databaseUrl: db.url });
    b = await createTestApp({}, { databaseUrl: db.url });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('two instances racing over 200 due reminders send each exactly once', async () => {
    const adminToken = await loginAdmin(a.http);
    const user = await createUser(a.http, adminToken);
    const task = await createTask(a.http, user.token, { title: 'Race' });
    await a.query(
      `INSERT INTO reminders (task_id, remind_at, created_by)
       SELECT $1, now() - (g * interval '1 second'), $2 FROM generate_series(1, ${COUNT}) AS g`,
      [task.id, user.id],
    );

    const drain = async (app: TestApp): Promise<number> => {
      const dispatcher = app.app.get(ReminderDispatcher);
      let total = 0;
      for (let round = 0; round < 10_000; round++) {
        const n = await dispatcher.dispatchDue(10);
        total += n;
        if (n === 0) {
          const [{ left }] = await app.query<{ left: string }>(
            'SELECT count(*) AS left FROM reminders WHERE sent_at IS NULL',
          );
          if (left === '0') return total;
        }
      }
      throw new Error('reminders were still due after 10,000 rounds');
    };
    const [byA, byB] = await Promise.all([drain(a), drain(b)]);
    expect(byA + byB).toBe(COUNT);

    const [{ notifications }] = await a.query<{ notifications: string }>(
      'SELECT count(*) AS notifications FROM notifications',
    );
    expect(notifications).toBe(String(COUNT));
    const perReminder = await a.query<{ n: string }>(
      `SELECT count(n.id) AS n FROM reminders r LEFT JOIN notifications n ON n.reminder_id = r.id GROUP BY r.id`,
    );
    expect(perReminder).toHaveLength(COUNT);
    expect(perReminder.every((r) => r.n === '1')).toBe(true);
    const [{ unsent }] = await a.query<{ unsent: string }>(
      'SELECT count(*) AS unsent FROM reminders WHERE sent_at IS NULL',
    );
    expect(unsent).toBe('0');
  });
});
