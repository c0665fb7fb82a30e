import { bearer, createUser, loginAdmin, TestUser } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { createTask, TaskBody } from './support/tasks';
import { createTestApp, TestApp } from './support/test-app';

const messages = (res: { body: unknown }): string =>
  JSON.stringify((res.body as { message: unknown }).message);

describe('tasks', () => {
  let t: TestApp;
  let adminToken: string;
  let owner: TestUser;
  let assignee: TestUser;
  let stranger: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await loginAdmin(t.http);
    owner = await createUser(t.http, adminToken);
    assignee = await createUser(t.http, adminToken);
    stranger = await createUser(t.http, adminToken);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('POST /tasks', () => {
    it('creates a task owned by the caller, with defaults, and stores it', async () => {
      const res = await t.http
        .post('/api/v1/tasks')
        .set(...bearer(owner.token))
        .send({ title: '  Renew certificate  ' })
        .expect(201);
      const body = res.body as TaskBody;
      expect(Object.keys(body).sort()).toEqual(
        [
          'assigneeId',
          'createdAt',
          'description',
          'dueAt',
          'id',
          'ownerId',
          'priority',
          'status',
          'title',
          'updatedAt',
        ].sort(),
      );
      expect(body).toMatchObject({
        title: 'Renew certificate',
        description: null,
        status: 'todo',
        priority: 'medium',
        dueAt: null,
        ownerId: owner.id,
        assigneeId: null,
      });
      const [row] = await t.query('SELECT * FROM tasks WHERE id = $1', [body.id]);
      expect(row).toMatchObject({ title: 'Renew certificate', owner_id: owner.id, status: 'todo' });
    });

    it('accepts every field', async () => {
      const body = await createTask(t.http, owner.token, {
        title: 'Full',
        description: 'Details',
        status: 'in_progress',
        priority: 'high',
        dueAt: '2030-01-02T03:04:05.000Z',
        assigneeId: assignee.id,
      });
      expect(body).toMatchObject({
        description: 'Details',
        status: 'in_progress',
        priority: 'high',
        dueAt: '2030-01-02T03:04:05.000Z',
        assigneeId: assignee.id,
      });
    });

    it('400 naming the field for bad input, and writes nothing', async () => {
      const [{ count: before }] = await t.query<{ count: string }>('SELECT count(*) FROM tasks');
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'title'],
        [{ title: '   ' }, 'title'],
        [{ title: 'x'.repeat(201) }, 'title'],
        [{ title: 'ok', description: 'x'.repeat(10001) }, 'description'],
        [{ title: 'ok', status: 'finished' }, 'status'],
        [{ title: 'ok', status: null }, 'status'],
        [{ title: 'ok', priority: 'urgent' }, 'priority'],
        [{ title: 'ok', dueAt: 'tomorrow' }, 'dueAt'],
        [{ title: 'ok', dueAt: '2030-13-45' }, 'dueAt'],
        [{ title: 'ok', assigneeId: 'not-a-uuid' }, 'assigneeId'],
        [{ title: 'ok', assigneeId: '00000000-0000-4000-8000-000000000000' }, 'assigneeId'],
        [{ title: 'ok', ownerId: stranger.id }, 'ownerId'],
        [{ title: 'ok', extra: 1 }, 'extra'],
      ];
      for (const [body, field] of cases) {
        const res = await t.http
          .post('/api/v1/tasks')
          .set(...bearer(owner.token))
          .send(body);
        expectErrorShape(res, 400);
        expect(messages(res)).toContain(field);
      }
      const [{ count: after }] = await t.query<{ count: string }>('SELECT count(*) FROM tasks');
      expect(after).toBe(before);
    });

    it('400 for an inactive assignee', async () => {
      const inactive = await createUser(t.http, adminToken);
      await t.http
        .patch(`/api/v1/users/${inactive.id}`)
        .set(...bearer(adminToken))
        .send({ isActive: false })
        .expect(200);
      const res = await t.http
        .post('/api/v1/tasks')
        .set(...bearer(owner.token))
        .send({ title: 'x', assigneeId: inactive.id });
      expectErrorShape(res, 400);
      expect(messages(res)).toContain('assigneeId');
    });

    it('401 without a token', async () => {
      expectErrorShape(await t.http.post('/api/v1/tasks').send({ title: 'x' }), 401);
      expectErrorShape(await t.http.get('/api/v1/tasks'), 401);
    });
  });

  describe('GET /tasks', () => {
    let lister: TestUser;
    let other: TestUser;
    let own: TaskBody[];
    let assigned: TaskBody;

    beforeAll(async () => {
      lister = await createUser(t.http, adminToken);
      other = await createUser(t.http, adminToken);
      own = [];
      own.push(await createTask(t.http, lister.token, { title: 'Alpha report', status: 'done' }));
      own.push(await createTask(t.http, lister.token, { title: '100% done_ish' }));
      own.push(await createTask(t.http, lister.token, { title: 'Beta REPORT' }));
      assigned = await createTask(t.http, other.token, { title: 'Assigned report', assigneeId: lister.id });
      await createTask(t.http, other.token, { title: 'Hidden report' });
    });

    const list = (token: string, query = '') =>
      t.http
        .get(`/api/v1/tasks${query}`)
        .set(...bearer(token))
        .expect(200);

    it('shows own and assigned tasks, newest first, with paging metadata', async () => {
      const res = await list(lister.token);
      const body = res.body as { items: TaskBody[]; total: number; limit: number; offset: number };
      expect(body.total).toBe(4);
      expect(body.limit).toBe(20);
      expect(body.offset).toBe(0);
      expect(body.items.map((i) => i.id)).toEqual([assigned.id, own[2].id, own[1].id, own[0].id]);
    });

    it('pages', async () => {
      const res = await list(lister.token, '?limit=2&offset=1');
      const body = res.body as { items: TaskBody[]; total: number };
      expect(body.total).toBe(4);
      expect(body.items.map((i) => i.id)).toEqual([own[2].id, own[1].id]);
    });

    it('filters by status, assignee and title text (case-insensitive, wildcards literal)', async () => {
      const byStatus = (await list(lister.token, '?status=done')).body as { items: TaskBody[] };
      expect(byStatus.items.map((i) => i.id)).toEqual([own[0].id]);
      const byAssignee = (await list(lister.token, `?assigneeId=${lister.id}`)).body as { items: TaskBody[] };
      expect(byAssignee.items.map((i) => i.id)).toEqual([assigned.id]);
      const byText = (await list(lister.token, '?q=report')).body as { items: TaskBody[] };
      expect(byText.items.map((i) => i.id)).toEqual([assigned.id, own[2].id, own[0].id]);
      const percent = (await list(lister.token, `?q=${encodeURIComponent('0% done_')}`)).body as {
        items: TaskBody[];
      };
      expect(percent.items.map((i) => i.id)).toEqual([own[1].id]);
      const underscore = (await list(lister.token, '?q=_')).body as { items: TaskBody[] };
      expect(underscore.items.map((i) => i.id)).toEqual([own[1].id]);
    });

    it('an admin sees everything', async () => {
      const res = await list(adminToken, '?q=report&limit=100');
      const titles = (res.body as { items: TaskBody[] }).items.map((i) => i.title);
      expect(titles).toEqual(expect.arrayContaining(['Hidden report', 'Assigned report', 'Alpha report']));
    });

    it('400 for bad filters', async () => {
      for (const [query, field] of [
        ['?status=open', 'status'],
        ['?assigneeId=nope', 'assigneeId'],
        ['?limit=0', 'limit'],
        ['?limit=101', 'limit'],
        ['?offset=-1', 'offset'],
        ['?unknown=1', 'unknown'],
      ]) {
        const res = await t.http.get(`/api/v1/tasks${query}`).set(...bearer(lister.token));
        expectErrorShape(res, 400);
        expect(messages(res)).toContain(field);
      }
    });
  });

  describe('GET, PATCH, DELETE /tasks/:id', () => {
    let task: TaskBody;

    beforeEach(async () => {
      task = await createTask(t.http, owner.token, { title: 'Shared', assigneeId: assignee.id });
    });

    it('owner, assignee and admin can read; a stranger gets 404 like a missing task', async () => {
      for (const token of [owner.token, assignee.token, adminToken]) {
        const res = await t.http
          .get(`/api/v1/tasks/${task.id}`)
          .set(...bearer(token))
          .expect(200);
        expect((res.body as TaskBody).id).toBe(task.id);
      }
      const hidden = await t.http.get(`/api/v1/tasks/${task.id}`).set(...bearer(stranger.token));
      expectErrorShape(hidden, 404);
      const missing = await t.http
        .get('/api/v1/tasks/00000000-0000-4000-8000-000000000000')
        .set(...bearer(stranger.token));
      expectErrorShape(missing, 404);
      expect((hidden.body as { message: string }).message).toBe(`Task ${task.id} was not found`);
      expectErrorShape(await t.http.get('/api/v1/tasks/not-a-uuid').set(...bearer(owner.token)), 400);
    });

    it('PATCH by the assignee updates the fields; null clears description, dueAt and assigneeId', async () => {
      const res = await t.http
        .patch(`/api/v1/tasks/${task.id}`)
        .set(...bearer(assignee.token))
        .send({ title: ' Renamed ', status: 'in_progress', description: 'd', dueAt: '2031-05-06T07:08:09Z' })
        .expect(200);
      expect(res.body).toMatchObject({
        title: 'Renamed',
        status: 'in_progress',
        description: 'd',
        dueAt: '2031-05-06T07:08:09.000Z',
      });
      expect(new Date((res.body as TaskBody).updatedAt).getTime()).toBeGreaterThanOrEqual(
        new Date(task.updatedAt).getTime(),
      );
      const cleared = await t.http
        .patch(`/api/v1/tasks/${task.id}`)
        .set(...bearer(owner.token))
        .send({ description: null, dueAt: null, assigneeId: null, priority: 'low' })
        .expect(200);
      expect(cleared.body).toMatchObject({
        description: null,
        dueAt: null,
        assigneeId: null,
        priority: 'low',
      });
      const [row] = await t.query('SELECT * FROM tasks WHERE id = $1', [task.id]);
      expect(row).toMatchObject({
        title: 'Renamed',
        description: null,
        due_at: null,
        assignee_id: null,
        priority: 'low',
      });
      // updatedAt is the row's own (set by the UPDATE), never older than the previous change's.
      const updatedAt = (cleared.body as TaskBody).updatedAt;
      expect(new Date(updatedAt).getTime()).toBe((row.updated_at as Date).getTime());
      expect(new Date(updatedAt).getTime()).toBeGreaterThanOrEqual(
        new Date((res.body as TaskBody).updatedAt).getTime(),
      );
      expect(new Date(updatedAt).getTime()).toBeGreaterThan(new Date(task.createdAt).getTime());
      // The former assignee no longer sees it.
      expectErrorShape(
        await t.http
          .patch(`/api/v1/tasks/${task.id}`)
          .set(...bearer(assignee.token))
          .send({ title: 'x' }),
        404,
      );
    });

    it('PATCH: admin may edit; a stranger gets 404; bad values 400 naming the field', async () => {
      await t.http
        .patch(`/api/v1/tasks/${task.id}`)
        .set(...bearer(adminToken))
        .send({ priority: 'high' })
        .expect(200);
      expectErrorShape(
        await t.http
          .patch(`/api/v1/tasks/${task.id}`)
          .set(...bearer(stranger.token))
          .send({ title: 'x' }),
        404,
      );
      for (const [body, field] of [
        [{ title: null }, 'title'],
        [{ title: '' }, 'title'],
        [{ title: 'x'.repeat(201) }, 'title'],
        [{ status: 'nope' }, 'status'],
        [{ priority: null }, 'priority'],
        [{ dueAt: 'soon' }, 'dueAt'],
        [{ assigneeId: 'x' }, 'assigneeId'],
        [{ assigneeId: '00000000-0000-4000-8000-000000000000' }, 'assigneeId'],
        [{ ownerId: stranger.id }, 'ownerId'],
      ] as [Record<string, unknown>, string][]) {
        const res = await t.http
          .patch(`/api/v1/tasks/${task.id}`)
          .set(...bearer(owner.token))
          .send(body);
        expectErrorShape(res, 400);
        expect(messages(res)).toContain(field);
      }
      const [row] = await t.query('SELECT title, priority FROM tasks WHERE id = $1', [task.id]);
      expect(row).toEqual({ title: 'Shared', priority: 'high' });
    });

    it('DELETE: assignee 403, stranger 404, owner 204 and the row is gone', async () => {
      expectErrorShape(await t.http.delete(`/api/v1/tasks/${task.id}`).set(...bearer(assignee.token)), 403);
      expectErrorShape(await t.http.delete(`/api/v1/tasks/${task.id}`).set(...bearer(stranger.token)), 404);
      expect(await t.query('SELECT id FROM tasks WHERE id = $1', [task.id])).toHaveLength(1);
      await t.http
        .delete(`/api/v1/tasks/${task.id}`)
        .set(...bearer(owner.token))
        .expect(204);
      expect(await t.query('SELECT id FROM tasks WHERE id = $1', [task.id])).toHaveLength(0);
      expectErrorShape(await t.http.get(`/api/v1/tasks/${task.id}`).set(...bearer(owner.token)), 404);
    });

    it('DELETE by an admin', async () => {
      await t.http
        .delete(`/api/v1/tasks/${task.id}`)
        .set(...bearer(adminToken))
        .expect(204);
      expect(await t.query('SELECT id FROM tasks WHERE id = $1', [task.id])).toHaveLength(0);
    });

    it('deleting the assignee user unassigns; deleting the owner deletes the task', async () => {
      const a = await createUser(t.http, adminToken);
      const o = await createUser(t.http, adminToken);
      const x = await createTask(t.http, o.token, { title: 'fk', assigneeId: a.id });
      await t.http
        .delete(`/api/v1/users/${a.id}`)
        .set(...bearer(adminToken))
        .expect(204);
      const [row] = await t.query<{ assignee_id: string | null }>(
        'SELECT assignee_id FROM tasks WHERE id = $1',
        [x.id],
      );
      expect(row.assignee_id).toBeNull();
      await t.http
        .delete(`/api/v1/users/${o.id}`)
        .set(...bearer(adminToken))
        .expect(204);
      expect(await t.query('SELECT id FROM tasks WHERE id = $1', [x.id])).toHaveLength(0);
    });
  });
});
