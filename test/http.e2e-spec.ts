import { bearer, loginAdmin } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { createTestApp, TestApp } from './support/test-app';

describe('HTTP behaviour', () => {
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    t = await createTestApp({ JSON_BODY_LIMIT: '2kb' });
    adminToken = await loginAdmin(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /health is public and checks the database', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
  });

  it('unknown routes answer 404 in the standard shape', async () => {
    expectErrorShape(await t.http.get('/api/v1/nope'), 404);
    expectErrorShape(await t.http.post('/nothing/here').send({}), 404);
  });

  it('malformed JSON is a 400, a body over JSON_BODY_LIMIT a 413', async () => {
    const bad = await t.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"email": "x@y.z", ');
    expectErrorShape(bad, 400);
    expect((bad.body as { message: string }).message).toBe('Malformed JSON body');
    const big = await t.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ email: 'x'.repeat(5000), password: 'y' }));
    expectErrorShape(big, 413);
  });

  it('keeps a valid X-Request-Id and replaces an invalid one', async () => {
    const kept = await t.http.get('/health').set('X-Request-Id', 'trace-abc-123');
    expect(kept.headers['x-request-id']).toBe('trace-abc-123');
    const err = await t.http.get('/api/v1/auth/me').set('X-Request-Id', 'trace-err-1');
    expect(err.headers['x-request-id']).toBe('trace-err-1');
    expect((err.body as { requestId: string }).requestId).toBe('trace-err-1');
    const replaced = await t.http.get('/health').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await t.http.get('/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets helmet headers and no X-Powered-By; CORS closed by default', async () => {
    const res = await t.http.get('/health').set('Origin', 'https://evil.example');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('serves Swagger UI and an OpenAPI 3 document with bearer security', async () => {
    const ui = await t.http.get('/api/docs/').redirects(1);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const doc = await t.http.get('/api/docs-json').expect(200);
    const spec = doc.body as {
      openapi: string;
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { summary?: string; security?: unknown[] }>>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.components.securitySchemes.bearer).toBeDefined();
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(`${method} ${path}: ${op.summary ?? ''}`).not.toMatch(/: $/);
      }
    }
    expect(spec.paths['/api/v1/auth/me'].get.security).toEqual([{ bearer: [] }]);
  });

  it('a 5xx says only "Internal server error" with the request id', async () => {
    // Break the database under the app for one call: the users table disappears inside a rolled-back transaction.
    await t.query('ALTER TABLE users RENAME TO users_away');
    try {
      const res = await t.http
        .get('/api/v1/users')
        .set(...bearer(adminToken))
        .set('X-Request-Id', 'req-500');
      // The auth guard reads the users table too, so this fails before or inside the handler: either way a 500.
      expectErrorShape(res, 500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal server error',
        requestId: 'req-500',
      });
    } finally {
      await t.query('ALTER TABLE users_away RENAME TO users');
    }
  });
});
