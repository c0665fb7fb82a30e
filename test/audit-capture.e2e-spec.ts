import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsString } from 'class-validator';
import { existsSync, readdirSync } from 'node:fs';
import { Public } from '../src/common/decorators/public.decorator';
import { AuditLifecycle } from '../src/modules/audit/audit-lifecycle.service';
import { Audited } from '../src/modules/audit/audited.decorator';
import { auditEvents, eventsOfRequest, rid } from './support/audit';
import { expectErrorShape } from './support/error-shape';
import { bearer, createUser, login, loginAdmin } from './support/factories';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, TestApp } from './support/test-app';
import { withFailingTrigger } from './support/failing-trigger';

class EchoDto {
  @IsString()
  value!: string;
}

/** Test-only routes: one that throws a plain error, one audited route that throws. */
@Controller('test')
class ThrowingController {
  @Get('boom')
  @Public()
  boom(): never {
    throw new TypeError('kaboom: secret internal detail');
  }

  @Post('audited-boom')
  @Public()
  @Audited({ action: 'task.created', resourceType: 'task' })
  auditedBoom(@Body() dto: EchoDto): never {
    throw new Error(`audited failure for ${dto.value}`);
  }
}

@Module({ controllers: [ThrowingController] })
class ThrowingModule {}

describe('audit capture (users, auth, errors)', () => {
  let t: TestApp;
  let adminToken: string;
  let adminId: string;

  beforeAll(async () => {
    t = await createTestApp({}, { imports: [ThrowingModule] });
    adminToken = await loginAdmin(t.http);
    adminId = ((await t.http.get('/api/v1/auth/me').set(...bearer(adminToken))).body as { id: string }).id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records system.started on boot with a system actor', async () => {
    const rows = await auditEvents(t, `action = 'system.started'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_type: 'system',
      actor_id: null,
      outcome: 'success',
      category: 'system',
      severity: 'info',
    });
  });

  it('events and generated request ids are time-ordered UUIDs (v7): their first 48 bits are the time in ms', async () => {
    const res = await t.http
      .get('/api/v1/auth/me')
      .set(...bearer(adminToken))
      .expect(200);
    const requestId = String(res.headers['x-request-id']);
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(requestId).toMatch(v7);
    const ms = (uuid: string): number => parseInt(uuid.replace(/-/g, '').slice(0, 12), 16);
    const rows = await t.query<{ id: string; at: string }>(
      `SELECT id, (extract(epoch FROM occurred_at) * 1000)::bigint::text AS at FROM audit_logs ORDER BY seq`,
    );
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) {
      expect(row.id).toMatch(v7);
      // Made when the event was built, within the same second as its occurred_at.
      expect(Math.abs(ms(row.id) - Number(row.at))).toBeLessThan(1000);
    }
  });

  it('auth.login: the user as actor, with request context', async () => {
    const id = rid('login');
    await t.http
      .post('/api/v1/auth/login')
      .set('X-Request-Id', id)
      .set('User-Agent', 'jest-agent/1.0')
      .send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD })
      .expect(200);
    const [e, ...rest] = await eventsOfRequest(t, id);
    expect(rest).toHaveLength(0);
    expect(e).toMatchObject({
      action: 'auth.login',
      category: 'auth',
      outcome: 'success',
      severity: 'info',
      actor_type: 'user',
      actor_id: adminId,
      actor_display: `Administrator <${ADMIN_EMAIL}>`,
      resource_type: 'user',
      resource_id: adminId,
      http_method: 'POST',
      http_path: '/api/v1/auth/login',
      status_code: 200,
      user_agent: 'jest-agent/1.0',
      description: 'Administrator logged in “Administrator”',
    });
    expect(e.ip_address).toMatch(/127\.0\.0\.1|::1/);
    expect(e.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('auth.login_failed: anonymous actor, the attempted email, never the password', async () => {
    const id = rid('login-failed');
    await t.http
      .post('/api/v1/auth/login')
      .set('X-Request-Id', id)
      .send({ email: 'Intruder@Example.com', password: 'guess-123456' })
      .expect(401);
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'auth.login_failed',
      outcome: 'failure',
      severity: 'warning',
      actor_type: 'anonymous',
      actor_id: null,
      status_code: 401,
      metadata: { email: 'intruder@example.com' },
      error_message: 'Invalid email or password',
      error_stack: null,
    });
    expect(JSON.stringify(events[0])).not.toContain('guess-123456');
  });

  it('auth.logout, user.created/updated/role_changed/deactivated/activated/deleted with changes', async () => {
    const created = rid('user-create');
    const res = await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .set('X-Request-Id', created)
      .send({
        email: 'carl@test.example',
        password: 'carl-password-1',
        displayName: 'Carl Jung',
        role: 'user',
      })
      .expect(201);
    const userId = (res.body as { id: string }).id;
    const [c] = await eventsOfRequest(t, created);
    expect(c).toMatchObject({
      action: 'user.created',
      actor_id: adminId,
      resource_type: 'user',
      resource_id: userId,
      resource_display: 'Carl Jung',
      status_code: 201,
      changes: {
        email: { from: null, to: 'carl@test.example' },
        displayName: { from: null, to: 'Carl Jung' },
        role: { from: null, to: 'user' },
        isActive: { from: null, to: true },
      },
    });

    const cases: [object, string, object][] = [
      [
        { displayName: 'Carl G. Jung' },
        'user.updated',
        { displayName: { from: 'Carl Jung', to: 'Carl G. Jung' } },
      ],
      [{ role: 'admin' }, 'user.role_changed', { role: { from: 'user', to: 'admin' } }],
      [{ isActive: false }, 'user.deactivated', { isActive: { from: true, to: false } }],
      [{ isActive: true }, 'user.activated', { isActive: { from: false, to: true } }],
    ];
    for (const [body, action, changes] of cases) {
      const id = rid(action);
      await t.http
        .patch(`/api/v1/users/${userId}`)
        .set(...bearer(adminToken))
        .set('X-Request-Id', id)
        .send(body)
        .expect(200);
      const events = await eventsOfRequest(t, id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ action, outcome: 'success', resource_id: userId, changes });
    }

    const noop = rid('noop');
    await t.http
      .patch(`/api/v1/users/${userId}`)
      .set(...bearer(adminToken))
      .set('X-Request-Id', noop)
      .send({ displayName: 'Carl G. Jung', role: 'admin' })
      .expect(200);
    expect(await eventsOfRequest(t, noop)).toHaveLength(0);

    const token = await login(t.http, 'carl@test.example', 'carl-password-1');
    const logout = rid('logout');
    await t.http
      .post('/api/v1/auth/logout')
      .set(...bearer(token))
      .set('X-Request-Id', logout)
      .expect(204);
    expect(await eventsOfRequest(t, logout)).toEqual([
      expect.objectContaining({ action: 'auth.logout', actor_id: userId, resource_id: userId }),
    ]);

    const del = rid('delete');
    await t.http
      .delete(`/api/v1/users/${userId}`)
      .set(...bearer(adminToken))
      .set('X-Request-Id', del)
      .expect(204);
    const [d] = await eventsOfRequest(t, del);
    expect(d).toMatchObject({
      action: 'user.deleted',
      status_code: 204,
      resource_id: userId,
      resource_display: 'Carl G. Jung',
      changes: { email: { from: 'carl@test.example', to: null } },
    });
    // The trail outlives the user: every event about them is still there.
    const about = await auditEvents(t, 'resource_id = $1', [userId]);
    expect(about.map((e) => e.action)).toEqual([
      'user.created',
      'user.updated',
      'user.role_changed',
      'user.deactivated',
      'user.activated',
      'auth.login',
      'auth.logout',
      'user.deleted',
    ]);
  });

  it('user.password_changed says the password changed, nothing more', async () => {
    const user = await createUser(t.http, adminToken);
    const id = rid('pw');
    await t.http
      .patch('/api/v1/users/me/password')
      .set(...bearer(user.token))
      .set('X-Request-Id', id)
      .send({ currentPassword: user.password, newPassword: 'the-new-password-9' })
      .expect(204);
    const [e] = await eventsOfRequest(t, id);
    expect(e).toMatchObject({
      action: 'user.password_changed',
      actor_id: user.id,
      resource_id: user.id,
      changes: null,
      metadata: { revokedSessions: 0 },
    });
    expect(JSON.stringify(e)).not.toMatch(/the-new-password-9|password-/);
  });

  it('a 400 on an audited route is one failure event with the route action', async () => {
    const id = rid('bad-user');
    await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .set('X-Request-Id', id)
      .send({ email: 'nope', password: 'x', displayName: '', role: 'root' })
      .expect(400);
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'user.created',
      outcome: 'failure',
      severity: 'warning',
      status_code: 400,
      error_type: 'BadRequestException',
      actor_id: adminId,
    });
    expect(events[0].error_message).toContain('email must be an email');
  });

  it('a 409 and a 404 are failure events', async () => {
    const conflict = rid('conflict');
    await t.http
      .post('/api/v1/users')
      .set(...bearer(adminToken))
      .set('X-Request-Id', conflict)
      .send({ email: ADMIN_EMAIL, password: 'whatever-123', displayName: 'X', role: 'user' })
      .expect(409);
    expect(await eventsOfRequest(t, conflict)).toEqual([
      expect.objectContaining({
        action: 'user.created',
        outcome: 'failure',
        status_code: 409,
        error_type: 'ConflictError',
      }),
    ]);
    const missing = rid('missing');
    await t.http
      .delete('/api/v1/users/00000000-0000-4000-8000-000000000000')
      .set(...bearer(adminToken))
      .set('X-Request-Id', missing)
      .expect(404);
    expect(await eventsOfRequest(t, missing)).toEqual([
      expect.objectContaining({ action: 'user.deleted', outcome: 'failure', status_code: 404 }),
    ]);
  });

  it('a 403 from the roles guard is access.denied with what was attempted', async () => {
    const user = await createUser(t.http, adminToken);
    const id = rid('denied');
    const res = await t.http
      .get('/api/v1/users')
      .set(...bearer(user.token))
      .set('X-Request-Id', id);
    expectErrorShape(res, 403);
    const post = rid('denied-post');
    await t.http
      .post('/api/v1/users')
      .set(...bearer(user.token))
      .set('X-Request-Id', post)
      .send({})
      .expect(403);
    expect(await eventsOfRequest(t, id)).toEqual([
      expect.objectContaining({
        action: 'access.denied',
        category: 'security',
        outcome: 'failure',
        severity: 'warning',
        status_code: 403,
        actor_id: user.id,
        http_path: '/api/v1/users',
      }),
    ]);
    expect(await eventsOfRequest(t, post)).toEqual([
      expect.objectContaining({ action: 'access.denied', metadata: { attemptedAction: 'user.created' } }),
    ]);
  });

  it('401: a refused token is access.denied, no token at all is not recorded', async () => {
    const bad = rid('bad-token');
    await t.http
      .get('/api/v1/auth/me')
      .set('Authorization', 'Bearer garbage.token.here')
      .set('X-Request-Id', bad)
      .expect(401);
    expect(await eventsOfRequest(t, bad)).toEqual([
      expect.objectContaining({ action: 'access.denied', status_code: 401, actor_type: 'anonymous' }),
    ]);
    const none = rid('no-token');
    await t.http.get('/api/v1/auth/me').set('X-Request-Id', none).expect(401);
    expect(await eventsOfRequest(t, none)).toHaveLength(0);
  });

  it('an unhandled error records error.unhandled with the stack; the client gets none', async () => {
    const id = rid('boom');
    const res = await t.http.get('/api/v1/test/boom').set('X-Request-Id', id);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: id,
    });
    const [e, ...rest] = await eventsOfRequest(t, id);
    expect(rest).toHaveLength(0);
    expect(e).toMatchObject({
      action: 'error.unhandled',
      category: 'error',
      outcome: 'error',
      severity: 'error',
      status_code: 500,
      error_type: 'TypeError',
      error_message: 'kaboom: secret internal detail',
    });
    expect(e.error_stack).toContain('ThrowingController.boom');
  });

  it('a 5xx on an audited route is one event with the route action and outcome error', async () => {
    const id = rid('audited-boom');
    const res = await t.http.post('/api/v1/test/audited-boom').set('X-Request-Id', id).send({ value: 'v1' });
    expectErrorShape(res, 500);
    const events = await eventsOfRequest(t, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'task.created',
      outcome: 'error',
      severity: 'error',
      status_code: 500,
      error_message: 'audited failure for v1',
    });
    expect(events[0].error_stack).toContain('auditedBoom');
  });

  it('a database failure in the middle of an update leaves neither the change nor a success event', async () => {
    const user = await createUser(t.http, adminToken);
    await withFailingTrigger(
      t,
      {
        name: 'fail_users',
        timing: 'AFTER UPDATE',
        table: 'users',
        when: `NEW.display_name = 'boom'`,
        message: 'injected failure',
      },
      async () => {
        const id = rid('db-fail');
        const res = await t.http
          .patch(`/api/v1/users/${user.id}`)
          .set(...bearer(adminToken))
          .set('X-Request-Id', id)
          .send({ displayName: 'boom' });
        expectErrorShape(res, 500);
        const [row] = await t.query<{ display_name: string }>(
          'SELECT display_name FROM users WHERE id = $1',
          [user.id],
        );
        expect(row.display_name).toBe(user.displayName);
        const events = await eventsOfRequest(t, id);
        expect(events).toEqual([
          expect.objectContaining({ action: 'user.updated', outcome: 'error', status_code: 500 }),
        ]);
        expect(events[0].error_message).toContain('injected failure');
      },
    );
  });

  it('fails closed: when the audit insert fails, the change rolls back and the event is spooled, then replayed once', async () => {
    const user = await createUser(t.http, adminToken);
    const id = rid('fail-closed');
    await withFailingTrigger(
      t,
      {
        name: 'reject_audit',
        timing: 'BEFORE INSERT',
        table: 'audit_logs',
        when: `NEW.action = 'user.updated'`,
        message: 'audit store unavailable',
      },
      async () => {
        const res = await t.http
          .patch(`/api/v1/users/${user.id}`)
          .set(...bearer(adminToken))
          .set('X-Request-Id', id)
          .send({ displayName: 'Never Saved' });
        expectErrorShape(res, 500);
        const [row] = await t.query<{ display_name: string }>(
          'SELECT display_name FROM users WHERE id = $1',
          [user.id],
        );
        expect(row.display_name).toBe(user.displayName);
        expect(await eventsOfRequest(t, id)).toHaveLength(0);
        expect(readdirSync(`${t.workDir}/spool`).length).toBeGreaterThan(0);
      },
    );
    const lifecycle = t.app.get(AuditLifecycle);
    expect(await lifecycle.replay()).toBe(1);
    expect(await lifecycle.replay()).toBe(0);
    const events = await eventsOfRequest(t, id);
    expect(events).toEqual([
      expect.objectContaining({
        action: 'user.updated',
        outcome: 'error',
        severity: 'error',
        status_code: 500,
      }),
    ]);
    expect(events[0].error_message).toContain('audit store unavailable');
    expect(existsSync(`${t.workDir}/spool`) ? readdirSync(`${t.workDir}/spool`) : []).toEqual([]);
  });

  it('the table is append-only: UPDATE, DELETE and TRUNCATE are rejected', async () => {
    await expect(t.query(`UPDATE audit_logs SET description = 'rewritten'`)).rejects.toThrow(
      /append-only: UPDATE is not allowed/,
    );
    await expect(t.query(`DELETE FROM audit_logs`)).rejects.toThrow(/append-only: DELETE is not allowed/);
    await expect(t.query(`TRUNCATE audit_logs`)).rejects.toThrow(/append-only: TRUNCATE is not allowed/);
    const [{ n }] = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_logs');
    expect(n).toBeGreaterThan(10);
  });

  it('no password, token or password hash anywhere in the trail', async () => {
    const user = await createUser(t.http, adminToken, { password: 'very-secret-password-42' });
    await t.http
      .patch('/api/v1/users/me/password')
      .set(...bearer(user.token))
      .send({ currentPassword: 'very-secret-password-42', newPassword: 'another-secret-pass-43' })
      .expect(204);
    await t.http
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: 'wrong-secret-pass-44' })
      .expect(401);
    const [{ password_hash: hash }] = await t.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [user.id],
    );
    const rows = await t.query<{ text: string }>('SELECT row_to_json(a)::text AS text FROM audit_logs a');
    const all = rows.map((r) => r.text).join('\n');
    for (const secret of [
      'very-secret-password-42',
      'another-secret-pass-43',
      'wrong-secret-pass-44',
      ADMIN_PASSWORD,
      hash,
      'scrypt$',
      adminToken,
      user.token,
      adminToken.split('.')[2],
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
