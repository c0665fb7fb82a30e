import { JwtService } from '@nestjs/jwt';
import type { Test as Req } from 'supertest';
import { insertApiKey } from '../support/audit-seed';
import { bearer, createUser, login, loginAdmin, TestUser } from '../support/factories';
import { createTask } from '../support/tasks';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, TestApp } from '../support/test-app';
import { OpenApiDoc, operations, routeKey } from './support/openapi';

const IDENTITIES = [
  'anonymous',
  'garbage',
  'expired',
  'revoked',
  'user',
  'other',
  'admin',
  'keyScoped',
  'keyUnscoped',
] as const;
type Identity = (typeof IDENTITIES)[number];
type Expect = Record<Identity, number>;

/** 401 for every refused credential; then user, other user, admin, API key with / without audit:read. */
const row = (user: number, other: number, admin: number, keyScoped: number, keyUnscoped: number): Expect => ({
  anonymous: 401,
  garbage: 401,
  expired: 401,
  revoked: 401,
  user,
  other,
  admin,
  keyScoped,
  keyUnscoped,
});
const publicRoute = (status: number): Expect =>
  Object.fromEntries(IDENTITIES.map((i) => [i, status])) as Expect;
const ADMIN_ONLY = (ok: number) => row(403, 403, ok, 403, 403);
const AUDIT_READ = row(403, 403, 200, 200, 403);
/** A resource owned by `user`: the other user does not see it (404, no existence leak). */
const OWNED = (ok: number) => row(ok, 404, ok, 403, 403);
const ANY_USER = (ok: number) => row(ok, ok, ok, 403, 403);

/**
 * The expectation for every route of the OpenAPI document. A route without an entry fails the test,
 * so a new route cannot ship without its authorization being decided here.
 */
const MATRIX: Record<string, Expect> = {
  'GET /health': publicRoute(200),
  'POST /api/v1/auth/login': publicRoute(200),
  'POST /api/v1/auth/logout': ANY_USER(204),
  'GET /api/v1/auth/me': ANY_USER(200),
  'PATCH /api/v1/users/me/password': ANY_USER(204),
  'POST /api/v1/users': ADMIN_ONLY(201),
  'GET /api/v1/users': ADMIN_ONLY(200),
  'GET /api/v1/users/{id}': ADMIN_ONLY(200),
  'PATCH /api/v1/users/{id}': ADMIN_ONLY(200),
  'DELETE /api/v1/users/{id}': ADMIN_ONLY(204),
  'POST /api/v1/tasks': ANY_USER(201),
  'GET /api/v1/tasks': ANY_USER(200),
  'GET /api/v1/tasks/{id}': OWNED(200),
  'PATCH /api/v1/tasks/{id}': OWNED(200),
  'DELETE /api/v1/tasks/{id}': OWNED(204),
  'POST /api/v1/tasks/{taskId}/attachments': OWNED(201),
  'GET /api/v1/tasks/{taskId}/attachments': OWNED(200),
  'GET /api/v1/attachments/{id}': OWNED(200),
  'GET /api/v1/attachments/{id}/content': OWNED(200),
  'DELETE /api/v1/attachments/{id}': OWNED(204),
  'POST /api/v1/tasks/{taskId}/reminders': OWNED(201),
  'GET /api/v1/tasks/{taskId}/reminders': OWNED(200),
  'DELETE /api/v1/reminders/{id}': OWNED(204),
  'GET /api/v1/notifications': ANY_USER(200),
  // Only the recipient can mark a notification read; for anyone else it does not exist.
  'POST /api/v1/notifications/{id}/read': row(204, 404, 404, 403, 403),
  'GET /api/v1/audit-logs': AUDIT_READ,
  'GET /api/v1/audit-logs/errors': AUDIT_READ,
  'GET /api/v1/audit-logs/export': AUDIT_READ,
  'GET /api/v1/audit-logs/feed': AUDIT_READ,
  'GET /api/v1/audit-logs/stats': AUDIT_READ,
  'GET /api/v1/audit-logs/{id}': AUDIT_READ,
  'GET /api/v1/audit-logs/verify': ADMIN_ONLY(200),
  'POST /api/v1/api-keys': ADMIN_ONLY(201),
  'GET /api/v1/api-keys': ADMIN_ONLY(200),
  'DELETE /api/v1/api-keys/{id}': ADMIN_ONLY(204),
};

interface Prepared {
  path: string;
  send?: (r: Req) => Req;
}

describe('authorization matrix generated from the OpenAPI document', () => {
  let t: TestApp;
  let adminToken: string;
  let owner: TestUser;
  let other: TestUser;
  let expired: string;
  let revoked: string;
  let keyScoped: string;
  let keyUnscoped: string;

  beforeAll(async () => {
    t = await createTestApp({ TRUST_PROXY: 'true' });
    adminToken = await loginAdmin(t.http);
    owner = await createUser(t.http, adminToken, { displayName: 'Owner' });
    other = await createUser(t.http, adminToken, { displayName: 'Other' });
    revoked = await login(t.http, owner.email, owner.password);
    await t.http
      .post('/api/v1/auth/logout')
      .set(...bearer(revoked))
      .expect(204);
    const payload = JSON.parse(Buffer.from(owner.token.split('.')[1], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expired = await new JwtService({ secret: 'test-jwt-secret-that-is-long-enough-000' }).signAsync({
      ...payload,
      iat: 1,
      exp: 2,
    });
    keyScoped = (await insertApiKey(t, { name: 'siem', scopes: ['audit:read'] })).secret;
    keyUnscoped = (await insertApiKey(t, { name: 'no scope', scopes: [] })).secret;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Fresh fixtures for one call: mutations never disturb the next case. */
  async function prepare(key: string, who: Identity): Promise<Prepared> {
    const task = () => createTask(t.http, owner.token, { title: `matrix ${key}` });
    switch (key) {
      case 'POST /api/v1/auth/login':
        return {
          path: '/api/v1/auth/login',
          send: (r) => r.send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
        };
      case 'PATCH /api/v1/users/me/password': {
        const self = who === 'other' ? other : who === 'admin' ? null : owner;
        const current = self ? self.password : ADMIN_PASSWORD;
        return {
          path: '/api/v1/users/me/password',
          send: (r) => r.send({ currentPassword: current, newPassword: `${current}-new` }),
        };
      }
      case 'POST /api/v1/users':
        return {
          path: '/api/v1/users',
          send: (r) =>
            r.send({
              email: `m-${Date.now()}-${Math.random()}@test.example`,
              password: 'matrix-password-1',
              displayName: 'M',
              role: 'user',
            }),
        };
      case 'GET /api/v1/users/{id}':
        return { path: `/api/v1/users/${other.id}` };
      case 'PATCH /api/v1/users/{id}':
        return {
          path: `/api/v1/users/${other.id}`,
          send: (r) => r.send({ displayName: `Other ${Date.now()}` }),
        };
      case 'DELETE /api/v1/users/{id}':
        return { path: `/api/v1/users/${(await createUser(t.http, adminToken)).id}` };
      case 'POST /api/v1/tasks':
        return { path: '/api/v1/tasks', send: (r) => r.send({ title: 'matrix' }) };
      case 'GET /api/v1/tasks/{id}':
        return { path: `/api/v1/tasks/${(await task()).id}` };
      case 'PATCH /api/v1/tasks/{id}':
        return { path: `/api/v1/tasks/${(await task()).id}`, send: (r) => r.send({ status: 'done' }) };
      case 'DELETE /api/v1/tasks/{id}':
        return { path: `/api/v1/tasks/${(await task()).id}` };
      case 'POST /api/v1/tasks/{taskId}/attachments':
        return {
          path: `/api/v1/tasks/${(await task()).id}/attachments`,
          send: (r) =>
            r.attach('file', Buffer.from('matrix'), { filename: 'm.txt', contentType: 'text/plain' }),
        };
      case 'GET /api/v1/tasks/{taskId}/attachments':
      case 'GET /api/v1/tasks/{taskId}/reminders':
        return { path: key.replace('GET ', '').replace('{taskId}', (await task()).id) };
      case 'GET /api/v1/attachments/{id}':
      case 'GET /api/v1/attachments/{id}/content':
      case 'DELETE /api/v1/attachments/{id}': {
        const res = await t.http
          .post(`/api/v1/tasks/${(await task()).id}/attachments`)
          .set(...bearer(owner.token))
          .attach('file', Buffer.from('matrix'), { filename: 'm.txt', contentType: 'text/plain' })
          .expect(201);
        return { path: key.replace(/^\w+ /, '').replace('{id}', (res.body as { id: string }).id) };
      }
      case 'POST /api/v1/tasks/{taskId}/reminders':
        return {
          path: `/api/v1/tasks/${(await task()).id}/reminders`,
          send: (r) => r.send({ remindAt: new Date(Date.now() + 3_600_000).toISOString() }),
        };
      case 'DELETE /api/v1/reminders/{id}': {
        const res = await t.http
          .post(`/api/v1/tasks/${(await task()).id}/reminders`)
          .set(...bearer(owner.token))
          .send({ remindAt: new Date(Date.now() + 3_600_000).toISOString() })
          .expect(201);
        return { path: `/api/v1/reminders/${(res.body as { id: string }).id}` };
      }
      case 'POST /api/v1/notifications/{id}/read': {
        const t0 = await task();
        const [n] = await t.query<{ id: string }>(
          `INSERT INTO notifications (user_id, kind, task_id, reminder_id, title, body) VALUES ($1, 'reminder', $2, gen_random_uuid(), 'Reminder', 'matrix') RETURNING id`,
          [owner.id, t0.id],
        );
        return { path: `/api/v1/notifications/${n.id}/read` };
      }
      case 'GET /api/v1/audit-logs/{id}': {
        const [e] = await t.query<{ id: string }>(`SELECT id FROM audit_logs ORDER BY seq LIMIT 1`);
        return { path: `/api/v1/audit-logs/${e.id}` };
      }
      case 'GET /api/v1/audit-logs/export':
        return { path: '/api/v1/audit-logs/export?format=ndjson&action=system.started' };
      case 'GET /api/v1/audit-logs/stats':
        return { path: '/api/v1/audit-logs/stats?groupBy=action' };
      case 'POST /api/v1/api-keys':
        return { path: '/api/v1/api-keys', send: (r) => r.send({ name: 'matrix', scopes: ['audit:read'] }) };
      case 'DELETE /api/v1/api-keys/{id}':
        return {
          path: `/api/v1/api-keys/${(await insertApiKey(t, { name: 'to revoke', scopes: ['audit:read'] })).id}`,
        };
      default:
        return { path: key.replace(/^\w+ /, '') };
    }
  }

  async function credential(who: Identity, key: string): Promise<[string, string] | undefined> {
    // Routes that end or change the caller's session get a fresh token each time.
    const fresh = key === 'POST /api/v1/auth/logout' || key === 'PATCH /api/v1/users/me/password';
    switch (who) {
      case 'anonymous':
        return undefined;
      case 'garbage':
        return ['Authorization', 'Bearer not.a.token'];
      case 'expired':
        return bearer(expired);
      case 'revoked':
        return bearer(revoked);
      case 'user':
        return bearer(fresh ? await login(t.http, owner.email, owner.password) : owner.token);
      case 'other':
        return bearer(fresh ? await login(t.http, other.email, other.password) : other.token);
      case 'admin':
        return bearer(fresh ? await loginAdmin(t.http) : adminToken);
      case 'keyScoped':
        return ['X-Api-Key', keyScoped];
      case 'keyUnscoped':
        return ['X-Api-Key', keyUnscoped];
    }
  }

  /** Puts the old password back and refreshes the identity's token (a change revokes the others). */
  async function restorePassword(who: Identity): Promise<void> {
    const self = who === 'other' ? other : who === 'admin' ? null : owner;
    const email = self ? self.email : ADMIN_EMAIL;
    const current = self ? self.password : ADMIN_PASSWORD;
    const token = await login(t.http, email, `${current}-new`);
    await t.http
      .patch('/api/v1/users/me/password')
      .set(...bearer(token))
      .send({ currentPassword: `${current}-new`, newPassword: current })
      .expect(204);
    if (self) self.token = await login(t.http, email, current);
    else adminToken = await loginAdmin(t.http);
  }

  it('every route × every identity answers the expected status', async () => {
    const doc = (await t.http.get('/api/docs-json').expect(200)).body as OpenApiDoc;
    const routes = operations(doc).map(routeKey);
    const undecided = routes.filter((r) => !MATRIX[r]);
    expect(undecided).toEqual([]);
    expect(Object.keys(MATRIX).filter((k) => !routes.includes(k))).toEqual([]);

    const mismatches: string[] = [];
    let calls = 0;
    for (const key of routes) {
      const method = key.split(' ')[0].toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
      for (const who of IDENTITIES) {
        const prepared = await prepare(key, who);
        let req = t.http[method](prepared.path).set('X-Forwarded-For', `203.0.113.${calls % 250}`);
        const cred = await credential(who, key);
        if (cred) req = req.set(...cred);
        const res = await (prepared.send ? prepared.send(req) : req);
        calls++;
        if (key === 'PATCH /api/v1/users/me/password' && res.status === 204) await restorePassword(who);
        if (res.status !== MATRIX[key][who])
          mismatches.push(`${key} as ${who}: expected ${MATRIX[key][who]}, got ${res.status}`);
        if (res.status >= 400)
          expect(Object.keys(res.body as object).sort()).toEqual([
            'error',
            'message',
            'requestId',
            'statusCode',
          ]);
      }
    }

    console.log(
      `authorization matrix: ${routes.length} routes × ${IDENTITIES.length} identities = ${calls} calls`,
    );
    expect(mismatches).toEqual([]);
  });

  it('refused tokens are recorded as access.denied; a missing token is not', async () => {
    const [{ n }] = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE action = 'access.denied' AND status_code = 401`,
    );
    // garbage, expired and revoked tokens (and the no-scope key) on every protected route
    expect(n).toBeGreaterThan(3 * 30);
    const anonymous = await t.query(
      `SELECT 1 FROM audit_logs WHERE action = 'access.denied' AND status_code = 401 AND actor_type = 'anonymous' AND NOT (metadata ? 'attemptedAction') AND http_path = '/api/v1/auth/me' AND request_id IS NULL`,
    );
    expect(anonymous).toEqual([]);
  });
});
