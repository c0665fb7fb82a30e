import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { auditEvents } from '../support/audit';
import { bearer, loginAdmin } from '../support/factories';
import { createTask } from '../support/tasks';
import { createTestApp, TestApp } from '../support/test-app';

const SHAPE = ['error', 'message', 'requestId', 'statusCode'];

describe('abuse: hostile bodies, headers and uploads', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example', ATTACHMENT_MAX_BYTES: '1024' });
    token = await loginAdmin(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['deeply nested JSON (100,000 levels)', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['deeply nested objects (10,000 levels)', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    [
      'prototype pollution',
      '{"title":"x","__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}}}',
    ],
    ['a 100,000-character title', JSON.stringify({ title: 'x'.repeat(100_000) })],
    ['wrong types', '{"title":["a"],"priority":7,"dueAt":true}'],
    ['a bad date', '{"title":"ok","dueAt":"2026-02-30T25:61:00Z"}'],
    ['NUL bytes', '{"title":"a\\u0000b"}'],
    ['SQL injection', `{"title":"x'); DROP TABLE tasks; --","status":"todo' OR '1'='1"}`],
    ['a JSON string instead of an object', '"just a string"'],
    ['null', 'null'],
  ])('%s → a clean 4xx (or 201 for harmless text), never a 5xx, nothing polluted', async (_label, body) => {
    const res = await t.http
      .post('/api/v1/tasks')
      .set(...bearer(token))
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) expect(Object.keys(res.body as object).sort()).toEqual(SHAPE);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stores injection strings as plain text and exports them with a formula guard', async () => {
    const task = await createTask(t.http, token, { title: `=cmd|' /C calc'!A0` });
    const res = await t.http
      .get(`/api/v1/audit-logs/export?format=csv&resourceId=${task.id}`)
      .set(...bearer(token))
      .expect(200);
    expect(res.text).toContain(`'=cmd|`);
    const [row] = await t.query<{ title: string }>('SELECT title FROM tasks WHERE id = $1', [task.id]);
    expect(row.title).toBe(`=cmd|' /C calc'!A0`);
  });

  it('refuses an oversized upload early, without reading it all', async () => {
    const task = await createTask(t.http, token, { title: 'upload target' });
    const server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const boundary = 'matrixboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`;
    const chunk = Buffer.alloc(64 * 1024, 97);
    const total = 20 * 1024 * 1024;
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          method: 'POST',
          path: `/api/v1/tasks/${task.id}/attachments`,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          // Stop pushing: the server has answered (and a half-sent request would keep the app from closing).
          req.destroy();
        },
      );
      req.on('error', (e) => (sent > 0 ? undefined : reject(e)));
      setTimeout(() => reject(new Error(`no answer after ${sent} bytes`)), 20_000).unref();
      req.write(head);
      // A steady sender (64 KiB every 2 ms, ~30 MB/s), so the server's answer can arrive mid-upload.
      const pump = () => {
        if (req.destroyed) return;
        if (sent >= total) return void req.end(`\r\n--${boundary}--\r\n`);
        sent += chunk.length;
        if (req.write(chunk)) setTimeout(pump, 2);
        else req.once('drain', () => setTimeout(pump, 2));
      };
      pump();
    });
    expect(status).toBe(413);
    // The answer came long before the 20 MB were pushed through, and nothing over the limit stayed on disk.
    expect(sent).toBeLessThan(total / 2);
    // The partial temporary file goes once multer sees the connection end.
    const tmp = join(t.workDir, 'attachments', 'tmp');
    const leftovers = () => (existsSync(tmp) ? readdirSync(tmp) : []);
    for (let i = 0; i < 40 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(leftovers()).toEqual([]);
    const events = await auditEvents(t, `action = 'attachment.uploaded' AND status_code = 413`);
    expect(events.length).toBeGreaterThanOrEqual(1);
  });

  it('opens CORS only to the configured origins', async () => {
    const allowed = await t.http.get('/health').set('Origin', 'https://app.example');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(allowed.headers['access-control-expose-headers']).toContain('X-Request-Id');
    const refused = await t.http.get('/health').set('Origin', 'https://evil.example');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});
