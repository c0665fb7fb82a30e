import { bearer, createUser, loginAdmin } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { createTestApp, TestApp } from './support/test-app';

describe('users (admin)', () => {
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await loginAdmin(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('role gating on every route: 401 anonymous, 403 user, 2xx admin', async () => {
    const user = await createUser(t.http, adminToken);
    const target = await createUser(t.http, adminToken);
    const routes: [string, string, object?][] = [
      [
        'post',
        '/api/v1/users',
        { email: 'gate@test.example', password: 'gate-password-1', displayName: 'Gate', role: 'user' },
      ],
      ['get', '/api/v1/users'],
      ['get', `/api/v1/users/${target.id}`],
      ['patch', `/api/v1/users/${target.id}`, { displayName: 'Renamed' }],
      ['delete', `/api/v1/users/${target.id}`],
    ];
    for (const [method, path, body] of routes) {
      const call = (token?: string) => {
        const r = (t.http as unknown as Record<string, (p: string) => import('supertest').Test>)[method](
          path,
        );
        if (token) r.set(...bearer(token));
        return body ? r.send(body) : r;
      };
      expectErrorShape(await call(), 401);
      expectErrorShape(await call(user.token), 403);
      const ok = await call(adminToken);
      expect([200, 201, 204]).toContain(ok.status);
    }
  });

  it('creates a user (201) without exposing the password or hash, and stores a scrypt hash', async () => {
    const res = await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .send({
        email: 'Ann.Lee@Test.Example',
        password: 'ann-password-1',
        displayName: 'Ann Lee',
        role: 'user',
      })
      .expect(201);
    expect(res.body).toMatchObject({
      email: 'ann.lee@test.example',
      displayName: 'Ann Lee',
      role: 'user',
      isActive: true,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password|hash/i);
    const [row] = await t.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [
      (res.body as { id: string }).id,
    ]);
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_hash).not.toContain('ann-password-1');
  });

  it('409 for a duplicate email in any letter case', async () => {
    await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .send({ email: 'dup@test.example', password: 'dup-password-1', displayName: 'Dup', role: 'user' })
      .expect(201);
    const res = await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .send({ email: 'DUP@test.EXAMPLE', password: 'dup-password-1', displayName: 'Dup 2', role: 'user' });
    expectErrorShape(res, 409);
    const rows = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users WHERE email = 'dup@test.example'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('400 for bad bodies, naming the field, and nothing is written', async () => {
    const before = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    const cases: [object, string][] = [
      [{ email: 'not-an-email', password: 'long-enough-pw', displayName: 'X', role: 'user' }, 'email'],
      [{ email: 'a@test.example', password: 'short', displayName: 'X', role: 'user' }, 'password'],
      [{ email: 'a@test.example', password: 'long-enough-pw', displayName: 'X', role: 'root' }, 'role'],
      [{ email: 'a@test.example', password: 'long-enough-pw', role: 'user' }, 'displayName'],
      [
        {
          email: 'a@test.example',
          password: 'long-enough-pw',
          displayName: 'X',
          role: 'user',
          isAdmin: true,
        },
        'isAdmin',
      ],
      [{ email: 12, password: 'long-enough-pw', displayName: 'X', role: 'user' }, 'email'],
    ];
    for (const [body, field] of cases) {
      const res = await t.http
        .post('/api/v1/users')
        .set(...bearer(adminToken))
        .send(body);
      expectErrorShape(res, 400);
      expect(JSON.stringify((res.body as { message: unknown }).message)).toContain(field);
    }
    const after = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(after[0].n).toBe(before[0].n);
  });

  it('lists users with pagination', async () => {
    const res = await t.http
      .get('/api/v1/users?limit=2&offset=1')
      .set(...bearer(adminToken))
      .expect(200);
    expect(res.body).toMatchObject({ limit: 2, offset: 1, total: expect.any(Number) });
    expect((res.body as { items: unknown[] }).items).toHaveLength(2);
    expectErrorShape(await t.http.get('/api/v1/users?limit=0').set(...bearer(adminToken)), 400);
    expectErrorShape(await t.http.get('/api/v1/users?limit=abc').set(...bearer(adminToken)), 400);
    expectErrorShape(await t.http.get('/api/v1/users?offset=-1').set(...bearer(adminToken)), 400);
  });

  it('400 for a malformed id, 404 for an unknown one', async () => {
    const bad = await t.http.get('/api/v1/users/not-a-uuid').set(...bearer(adminToken));
    expectErrorShape(bad, 400);
    expect((bad.body as { message: string[] }).message).toEqual(['id must be a UUID']);
    expectErrorShape(
      await t.http.get('/api/v1/users/00000000-0000-4000-8000-000000000000').set(...bearer(adminToken)),
      404,
    );
    expectErrorShape(
      await t.http
        .patch('/api/v1/users/00000000-0000-4000-8000-000000000000')
        .set(...bearer(adminToken))
        .send({ displayName: 'x' }),
      404,
    );
    expectErrorShape(
      await t.http.delete('/api/v1/users/00000000-0000-4000-8000-000000000000').set(...bearer(adminToken)),
      404,
    );
  });

  it('PATCH updates name and role; deactivation blocks login and revokes tokens', async () => {
    const user = await createUser(t.http, adminToken);
    const res = await t.http
      .patch(`/api/v1/users/${user.id}`)
      .set(...bearer(adminToken))
      .send({ displayName: 'New Name', role: 'admin' })
      .expect(200);
    expect(res.body).toMatchObject({ displayName: 'New Name', role: 'admin' });
    await t.http
      .get('/api/v1/users')
      .set(...bearer(user.token))
      .expect(200);
    await t.http
      .patch(`/api/v1/users/${user.id}`)
      .set(...bearer(adminToken))
      .send({ isActive: false })
      .expect(200);
    expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(user.token)), 401);
    expectErrorShape(
      await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
      401,
    );
    await t.http
      .patch(`/api/v1/users/${user.id}`)
      .set(...bearer(adminToken))
      .send({ isActive: true })
      .expect(200);
    await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(user.token)), 401);
  });

  it('an admin cannot lock themselves out', async () => {
    const me = await t.http
      .get('/api/v1/auth/me')
      .set(...bearer(adminToken))
      .expect(200);
    const id = (me.body as { id: string }).id;
    expectErrorShape(
      await t.http
        .patch(`/api/v1/users/${id}`)
        .set(...bearer(adminToken))
        .send({ isActive: false }),
      409,
    );
    expectErrorShape(
      await t.http
        .patch(`/api/v1/users/${id}`)
        .set(...bearer(adminToken))
        .send({ role: 'user' }),
      409,
    );
    expectErrorShape(await t.http.delete(`/api/v1/users/${id}`).set(...bearer(adminToken)), 409);
  });

  it('DELETE removes the user and their sessions; their token stops working', async () => {
    const user = await createUser(t.http, adminToken);
    await t.http
      .delete(`/api/v1/users/${user.id}`)
      .set(...bearer(adminToken))
      .expect(204);
    expectErrorShape(await t.http.get(`/api/v1/users/${user.id}`).set(...bearer(adminToken)), 404);
    expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(user.token)), 401);
    const rows = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [
      user.id,
    ]);
    expect(rows[0].n).toBe(0);
  });
});
