import { JwtService } from '@nestjs/jwt';
import { bearer, createUser, login, loginAdmin } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, TestApp } from './support/test-app';

describe('auth', () => {
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    t = await createTestApp();
    adminToken = await loginAdmin(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('POST /auth/login', () => {
    it('returns a bearer token for the bootstrap admin (email in any case)', async () => {
      const res = await t.http
        .post('/api/v1/auth/login')
        .send({ email: ADMIN_EMAIL.toUpperCase(), password: ADMIN_PASSWORD })
        .expect(200);
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 3600 });
      const header = JSON.parse(
        Buffer.from((res.body as { accessToken: string }).accessToken.split('.')[0], 'base64url').toString(),
      ) as { alg: string };
      expect(header.alg).toBe('HS256');
    });

    it('answers wrong password, unknown email and inactive user with the same 401', async () => {
      const user = await createUser(t.http, adminToken);
      await t.http
        .patch(`/api/v1/users/${user.id}`)
        .set(...bearer(adminToken))
        .send({ isActive: false })
        .expect(200);
      const attempts = [
        { email: ADMIN_EMAIL, password: 'wrong-password' },
        { email: 'nobody@test.example', password: 'whatever-password' },
        { email: user.email, password: user.password },
      ];
      const messages: unknown[] = [];
      for (const body of attempts) {
        const res = await t.http.post('/api/v1/auth/login').send(body);
        expectErrorShape(res, 401);
        messages.push((res.body as { message: unknown }).message);
      }
      expect(new Set(messages).size).toBe(1);
      expect(messages[0]).toBe('Invalid email or password');
    });

    it('rejects missing fields with 400 naming them', async () => {
      const res = await t.http.post('/api/v1/auth/login').send({});
      expectErrorShape(res, 400);
      const text = JSON.stringify(res.body);
      expect(text).toContain('email');
      expect(text).toContain('password');
    });
  });

  describe('GET /auth/me', () => {
    it('returns the caller without any password material', async () => {
      const res = await t.http
        .get('/api/v1/auth/me')
        .set(...bearer(adminToken))
        .expect(200);
      expect(res.body).toMatchObject({
        email: ADMIN_EMAIL,
        role: 'admin',
        isActive: true,
        displayName: 'Administrator',
      });
      expect(Object.keys(res.body as object)).toEqual(
        expect.arrayContaining(['id', 'email', 'displayName', 'role', 'isActive', 'createdAt']),
      );
      expect(JSON.stringify(res.body)).not.toMatch(/password|hash|scrypt/i);
    });

    it('401 without a token, with a garbage token, with a bad scheme', async () => {
      expectErrorShape(await t.http.get('/api/v1/auth/me'), 401);
      expectErrorShape(await t.http.get('/api/v1/auth/me').set('Authorization', 'Bearer not.a.jwt'), 401);
      expectErrorShape(await t.http.get('/api/v1/auth/me').set('Authorization', `Basic ${adminToken}`), 401);
    });

    it('refuses alg:none, another algorithm, a forged signature, an edited payload and an expired token', async () => {
      const [, payloadB64] = adminToken.split('.');
      const payload = JSON.parse(Buffer.from(payloadB64, 'base64url').toString()) as Record<string, unknown>;
      const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${enc({ alg: 'none', typ: 'JWT' })}.${payloadB64}.`;
      const hs512 = await new JwtService({ secret: 'test-jwt-secret-that-is-long-enough-000' }).signAsync(
        payload,
        { algorithm: 'HS512' },
      );
      const forged = await new JwtService({ secret: 'another-secret-of-sufficient-length-000' }).signAsync(
        payload,
      );
      const user = await createUser(t.http, adminToken);
      const [h, p, s] = user.token.split('.');
      const elevated = `${h}.${enc({ ...(JSON.parse(Buffer.from(p, 'base64url').toString()) as object), role: 'admin' })}.${s}`;
      const expired = await new JwtService({ secret: 'test-jwt-secret-that-is-long-enough-000' }).signAsync({
        ...payload,
        exp: Math.floor(Date.now() / 1000) - 10,
        iat: Math.floor(Date.now() / 1000) - 100,
      });
      for (const token of [none, hs512, forged, elevated, expired]) {
        expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(token)), 401);
      }
      expectErrorShape(await t.http.get('/api/v1/users').set(...bearer(elevated)), 401);
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes exactly the token used', async () => {
      const other = await loginAdmin(t.http);
      const token = await loginAdmin(t.http);
      await t.http
        .post('/api/v1/auth/logout')
        .set(...bearer(token))
        .expect(204);
      expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(token)), 401);
      await t.http
        .get('/api/v1/auth/me')
        .set(...bearer(other))
        .expect(200);
      const rows = await t.query<{ revoked: number }>(
        'SELECT count(*)::int AS revoked FROM sessions WHERE revoked_at IS NOT NULL',
      );
      expect(rows[0].revoked).toBeGreaterThanOrEqual(1);
    });

    it('requires a token', async () => {
      expectErrorShape(await t.http.post('/api/v1/auth/logout'), 401);
    });
  });

  describe('PATCH /users/me/password', () => {
    it('changes the password, keeps the current token, revokes the others', async () => {
      const user = await createUser(t.http, adminToken);
      const second = await login(t.http, user.email, user.password);
      await t.http
        .patch('/api/v1/users/me/password')
        .set(...bearer(user.token))
        .send({ currentPassword: user.password, newPassword: 'a-brand-new-password' })
        .expect(204);
      await t.http
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(401);
      await login(t.http, user.email, 'a-brand-new-password');
      await t.http
        .get('/api/v1/auth/me')
        .set(...bearer(user.token))
        .expect(200);
      expectErrorShape(await t.http.get('/api/v1/auth/me').set(...bearer(second)), 401);
    });

    it('rejects a wrong current password, a short new one and unknown fields', async () => {
      const user = await createUser(t.http, adminToken);
      expectErrorShape(
        await t.http
          .patch('/api/v1/users/me/password')
          .set(...bearer(user.token))
          .send({ currentPassword: 'nope-nope-nope', newPassword: 'another-long-password' }),
        400,
      );
      const short = await t.http
        .patch('/api/v1/users/me/password')
        .set(...bearer(user.token))
        .send({ currentPassword: user.password, newPassword: 'short' });
      expectErrorShape(short, 400);
      expect(JSON.stringify(short.body)).toContain('newPassword');
      const extra = await t.http
        .patch('/api/v1/users/me/password')
        .set(...bearer(user.token))
        .send({ currentPassword: user.password, newPassword: 'another-long-password', role: 'admin' });
      expectErrorShape(extra, 400);
      expect(JSON.stringify(extra.body)).toContain('property role should not exist');
      await login(t.http, user.email, user.password);
    });
  });
});
