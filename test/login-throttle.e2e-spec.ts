import { auditEvents, eventsOfRequest, rid } from './support/audit';
import { expectErrorShape } from './support/error-shape';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, TestApp } from './support/test-app';

describe('login throttling', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ TRUST_PROXY: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const attempt = (email: string, password: string, ip: string, id = rid('login')) =>
    t.http
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', ip)
      .set('X-Request-Id', id)
      .send({ email, password });

  it('locks an account after 10 failures in 15 minutes: 429 with Retry-After, recorded as security.rate_limited', async () => {
    for (let i = 0; i < 10; i++)
      expect((await attempt(ADMIN_EMAIL, `wrong-${i}`, `10.0.0.${i + 1}`)).status).toBe(401);
    const id = rid('limited');
    const res = await attempt(ADMIN_EMAIL, ADMIN_PASSWORD, '10.0.0.99', id);
    expectErrorShape(res, 429);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await eventsOfRequest(t, id)).toEqual([
      expect.objectContaining({
        action: 'security.rate_limited',
        category: 'security',
        outcome: 'failure',
        status_code: 429,
        ip_address: '10.0.0.99',
        metadata: { email: ADMIN_EMAIL, attemptedAction: 'auth.login' },
      }),
    ]);
    // X-Forwarded-For is honoured because TRUST_PROXY is on.
    expect((await auditEvents(t, `action = 'auth.login_failed'`)).map((e) => e.ip_address)).toContain(
      '10.0.0.1',
    );
  });

  it('limits one IP to 30 failures across accounts', async () => {
    for (let i = 0; i < 30; i++)
      expect((await attempt(`nobody${i}@test.example`, 'nope-nope-1', '192.0.2.7')).status).toBe(401);
    expectErrorShape(await attempt('someone-else@test.example', 'nope-nope-1', '192.0.2.7'), 429);
    // Another IP, another account: unaffected.
    expect((await attempt('fresh@test.example', 'nope-nope-1', '192.0.2.8')).status).toBe(401);
  });
});
