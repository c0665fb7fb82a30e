import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { AttachmentSweeper } from '../src/modules/attachments/attachment-sweeper';
import { bearer, createUser, loginAdmin, TestUser } from './support/factories';
import { expectErrorShape } from './support/error-shape';
import { createTask, TaskBody } from './support/tasks';
import { within } from './support/deadline';
import { createTestApp, onServer, TestApp } from './support/test-app';

interface AttachmentBody {
  id: string;
  taskId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  uploadedBy: string;
  createdAt: string;
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(64)]);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const messages = (res: { body: unknown }): string =>
  JSON.stringify((res.body as { message: unknown }).message);

/** Collects a binary response body as a Buffer. */
function binary(res: Response, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

describe('attachments', () => {
  let t: TestApp;
  let adminToken: string;
  let owner: TestUser;
  let assignee: TestUser;
  let stranger: TestUser;
  let task: TaskBody;
  let dir: string;

  const files = (): string[] => readdirSync(dir).filter((n) => n !== 'tmp');
  const temps = (): string[] => readdirSync(join(dir, 'tmp'));

  const upload = (
    token: string,
    taskId: string,
    content: Buffer,
    filename = 'a.txt',
    contentType = 'text/plain',
  ) =>
    t.http
      .post(`/api/v1/tasks/${taskId}/attachments`)
      .set(...bearer(token))
      .attach('file', content, { filename, contentType });

  beforeAll(async () => {
    t = await createTestApp();
    dir = join(t.workDir, 'attachments');
    adminToken = await loginAdmin(t.http);
    owner = await createUser(t.http, adminToken);
    assignee = await createUser(t.http, adminToken);
    stranger = await createUser(t.http, adminToken);
    task = await createTask(t.http, owner.token, { title: 'With files', assigneeId: assignee.id });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('uploads (201), stores the row and the file, and downloads it byte for byte', async () => {
    const content = randomBytes(300 * 1024);
    const res = await upload(owner.token, task.id, content, 'archive.zip', 'application/zip').expect(201);
    const body = res.body as AttachmentBody;
    expect(Object.keys(body).sort()).toEqual(
      ['contentType', 'createdAt', 'filename', 'id', 'sha256', 'size', 'taskId', 'uploadedBy'].sort(),
    );
    expect(body).toMatchObject({
      taskId: task.id,
      filename: 'archive.zip',
      contentType: 'application/zip',
      size: content.length,
      sha256: sha256(content),
      uploadedBy: owner.id,
    });
    const [row] = await t.query('SELECT * FROM attachments WHERE id = $1', [body.id]);
    expect(row).toMatchObject({ task_id: task.id, size: String(content.length), sha256: sha256(content) });
    expect(files()).toContain(body.id);
    expect(temps()).toEqual([]);

    const down = await t.http
      .get(`/api/v1/attachments/${body.id}/content`)
      .set(...bearer(assignee.token))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(down.headers['content-type']).toBe('application/zip');
    expect(down.headers['content-disposition']).toBe('attachment; filename="archive.zip"');
    expect(down.headers['x-content-type-options']).toBe('nosniff');
    expect(down.headers['content-length']).toBe(String(content.length));
    const bytes = down.body as Buffer;
    expect(bytes.equals(content)).toBe(true);
    expect(sha256(bytes)).toBe(body.sha256);
  });

  it('accepts a real PNG and serves it with its type', async () => {
    const res = await upload(assignee.token, task.id, PNG, 'pic.png', 'image/png').expect(201);
    const body = res.body as AttachmentBody;
    expect(body).toMatchObject({ contentType: 'image/png', uploadedBy: assignee.id, size: PNG.length });
    const down = await t.http
      .get(`/api/v1/attachments/${body.id}/content`)
      .set(...bearer(owner.token))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(down.headers['content-type']).toBe('image/png');
    expect((down.body as Buffer).equals(PNG)).toBe(true);
  });

  it('sanitises the stored filename and encodes non-ASCII names for download', async () => {
    // Raw multipart, so the client library does not clean the name first. `disposition` is the
    // part's Content-Disposition parameters after `form-data; name="file"; `.
    const rawUpload = (disposition: string) => {
      const boundary = '----test-boundary-7MA4YWxkTrZu0gW';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${disposition}\r\n` +
            'Content-Type: text/plain\r\n\r\n',
          'utf8',
        ),
        Buffer.from('x'),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return t.http
        .post(`/api/v1/tasks/${task.id}/attachments`)
        .set(...bearer(owner.token))
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(body);
    };
    const cases: [string, string][] = [
      ['filename="../../etc/passwd"', 'passwd'],
      ['filename="..\\..\\windows\\win.ini"', 'win.ini'],
      ['filename="/abs/path/report.pdf"', 'report.pdf'],
      // WHATWG escapes for LF, CR and '"' (decoded by multer), and RFC 5987 percent-encoding.
      ['filename="bad%0Aname%0D.txt"', 'badname.txt'],
      ["filename*=UTF-8''ctl%01%1F%7Fchars%E2%80%AE.txt", 'ctlchars.txt'],
      ['filename="  ..  "', 'file'],
    ];
    for (const [disposition, stored] of cases) {
      const res = await rawUpload(disposition);
      expect({ disposition, status: res.status }).toEqual({ disposition, status: 201 });
      expect((res.body as AttachmentBody).filename).toBe(stored);
      const [row] = await t.query<{ filename: string }>('SELECT filename FROM attachments WHERE id = $1', [
        (res.body as AttachmentBody).id,
      ]);
      expect(row.filename).toBe(stored);
    }
    // A raw control character in the part header is a malformed body.
    expectErrorShape(await rawUpload('filename="bad\u0001name.txt"'), 400);
    const res = await upload(owner.token, task.id, Buffer.from('x'), 'März "plan".txt').expect(201);
    const body = res.body as AttachmentBody;
    expect(body.filename).toBe('März "plan".txt');
    const down = await t.http
      .get(`/api/v1/attachments/${body.id}/content`)
      .set(...bearer(owner.token))
      .expect(200);
    expect(down.headers['content-disposition']).toBe(
      `attachment; filename="M_rz _plan_.txt"; filename*=UTF-8''M%C3%A4rz%20%22plan%22.txt`,
    );
  });

  it('415 for a type not allowed, or content that is not the declared image/PDF; nothing is kept', async () => {
    const [{ count: before }] = await t.query<{ count: string }>('SELECT count(*) FROM attachments');
    const filesBefore = files().length;
    expectErrorShape(
      await upload(owner.token, task.id, Buffer.from('MZ...'), 'x.exe', 'application/x-msdownload'),
      415,
    );
    expectErrorShape(
      await upload(owner.token, task.id, Buffer.from('<html></html>'), 'x.html', 'text/html'),
      415,
    );
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'application/pdf']) {
      const res = await upload(owner.token, task.id, Buffer.from('<script>alert(1)</script>'), 'x', type);
      expectErrorShape(res, 415);
    }
    const [{ count: after }] = await t.query<{ count: string }>('SELECT count(*) FROM attachments');
    expect(after).toBe(before);
    expect(files()).toHaveLength(filesBefore);
    expect(temps()).toEqual([]);
  });

  it('400 for no file, an empty file, unknown fields, a second file field or a bad task id; nothing is kept', async () => {
    const [{ count: before }] = await t.query<{ count: string }>('SELECT count(*) FROM attachments');
    const filesBefore = files().length;
    const url = `/api/v1/tasks/${task.id}/attachments`;

    const none = await t.http
      .post(url)
      .set(...bearer(owner.token))
      .field('note', 'x');
    expectErrorShape(none, 400);
    const json = await t.http
      .post(url)
      .set(...bearer(owner.token))
      .send({ file: 'abc' });
    expectErrorShape(json, 400);
    expect(messages(json)).toContain('file');
    const bare = await t.http.post(url).set(...bearer(owner.token));
    expectErrorShape(bare, 400);
    expect(messages(bare)).toContain('file');

    const empty = await upload(owner.token, task.id, Buffer.alloc(0), 'empty.txt');
    expectErrorShape(empty, 400);
    expect(messages(empty)).toContain('file');

    const extra = await t.http
      .post(url)
      .set(...bearer(owner.token))
      .field('comment', 'hello')
      .attach('file', Buffer.from('data'), { filename: 'a.txt', contentType: 'text/plain' });
    expectErrorShape(extra, 400);
    expect(messages(extra)).toContain('comment');

    const other = await t.http
      .post(url)
      .set(...bearer(owner.token))
      .attach('other', Buffer.from('data'), { filename: 'a.txt', contentType: 'text/plain' });
    expectErrorShape(other, 400);
    expect(messages(other)).toContain('other');

    const two = await t.http
      .post(url)
      .set(...bearer(owner.token))
      .attach('file', Buffer.from('one'), { filename: 'a.txt', contentType: 'text/plain' })
      .attach('file', Buffer.from('two'), { filename: 'b.txt', contentType: 'text/plain' });
    expectErrorShape(two, 400);

    const badId = await upload(owner.token, 'not-a-uuid', Buffer.from('data'));
    expectErrorShape(badId, 400);
    expect(messages(badId)).toContain('taskId');

    const [{ count: after }] = await t.query<{ count: string }>('SELECT count(*) FROM attachments');
    expect(after).toBe(before);
    expect(files()).toHaveLength(filesBefore);
    expect(temps()).toEqual([]);
  });

  it('a stalled upload holds no transaction: other requests, reads and writes, go on meanwhile; then it lands', async () => {
    // The body is read before the request transaction opens (AttachmentUploadParser, a
    // @BeforeTransaction step). Read inside it, half a body would hold a pooled connection in an open
    // transaction for as long as the client waits, and on the embedded database (one session for
    // every connection) block every other request until the upload ended or timed out.
    const server: Server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const boundary = 'stalled-upload-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n` +
        'Content-Type: text/plain\r\n\r\n',
    );
    const content = randomBytes(48 * 1024)
      .toString('hex')
      .slice(0, 48 * 1024);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = Buffer.concat([head, Buffer.from(content), tail]);
    const half = head.length + 1024;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/api/v1/tasks/${task.id}/attachments`,
      headers: {
        authorization: `Bearer ${owner.token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': body.length,
      },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
    });
    req.write(body.subarray(0, half));
    // The server is reading the upload: its temporary file exists.
    for (let i = 0; i < 200 && temps().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(temps()).toHaveLength(1);

    // Meanwhile:
    await within(
      t.http
        .get(`/api/v1/tasks/${task.id}`)
        .set(...bearer(owner.token))
        .expect(200),
      'a read blocked behind the stalled upload',
    );
    await within(
      createTask(t.http, owner.token, { title: 'Written while an upload stalls' }),
      'a write blocked behind the stalled upload',
    );
    if (onServer()) {
      // No session of this database sits in a transaction waiting for the client.
      const waiting = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(waiting[0].n).toBe(0);
    }

    req.end(body.subarray(half));
    const res = await answered;
    expect(res.status).toBe(201);
    const stored = JSON.parse(res.body) as AttachmentBody;
    expect(stored.size).toBe(content.length);
    expect(stored.sha256).toBe(sha256(Buffer.from(content)));
    expect(existsSync(join(dir, stored.id))).toBe(true);
    expect(temps()).toEqual([]);
  });

  it('lists and reads metadata for those who can see the task; a stranger gets 404 everywhere', async () => {
    const a = (await upload(owner.token, task.id, Buffer.from('secret')).expect(201)).body as AttachmentBody;
    const list = await t.http
      .get(`/api/v1/tasks/${task.id}/attachments`)
      .set(...bearer(assignee.token))
      .expect(200);
    const items = (list.body as { items: AttachmentBody[] }).items;
    expect(items[0]).toEqual(a);
    const [{ count }] = await t.query<{ count: string }>(
      'SELECT count(*) FROM attachments WHERE task_id = $1',
      [task.id],
    );
    expect(items).toHaveLength(Number(count));
    const meta = await t.http
      .get(`/api/v1/attachments/${a.id}`)
      .set(...bearer(adminToken))
      .expect(200);
    expect(meta.body).toEqual(a);

    expectErrorShape(await upload(stranger.token, task.id, Buffer.from('x')), 404);
    expectErrorShape(
      await t.http.get(`/api/v1/tasks/${task.id}/attachments`).set(...bearer(stranger.token)),
      404,
    );
    expectErrorShape(await t.http.get(`/api/v1/attachments/${a.id}`).set(...bearer(stranger.token)), 404);
    expectErrorShape(
      await t.http.get(`/api/v1/attachments/${a.id}/content`).set(...bearer(stranger.token)),
      404,
    );
    expectErrorShape(await t.http.delete(`/api/v1/attachments/${a.id}`).set(...bearer(stranger.token)), 404);
    const missing = '00000000-0000-4000-8000-000000000000';
    expectErrorShape(await t.http.get(`/api/v1/attachments/${missing}`).set(...bearer(owner.token)), 404);
    expectErrorShape(await t.http.get(`/api/v1/attachments/nope/content`).set(...bearer(owner.token)), 400);
    expect(files()).toContain(a.id);
    expect(temps()).toEqual([]);
  });

  it('DELETE: uploader, task owner or admin (204, row and file gone); others 403', async () => {
    const byOwner = (await upload(owner.token, task.id, Buffer.from('o')).expect(201)).body as AttachmentBody;
    const byAssignee = (await upload(assignee.token, task.id, Buffer.from('a')).expect(201))
      .body as AttachmentBody;
    const another = (await upload(assignee.token, task.id, Buffer.from('b')).expect(201))
      .body as AttachmentBody;

    expectErrorShape(
      await t.http.delete(`/api/v1/attachments/${byOwner.id}`).set(...bearer(assignee.token)),
      403,
    );
    expect(files()).toContain(byOwner.id);

    await t.http
      .delete(`/api/v1/attachments/${byAssignee.id}`)
      .set(...bearer(assignee.token))
      .expect(204);
    await t.http
      .delete(`/api/v1/attachments/${another.id}`)
      .set(...bearer(owner.token))
      .expect(204);
    await t.http
      .delete(`/api/v1/attachments/${byOwner.id}`)
      .set(...bearer(adminToken))
      .expect(204);
    for (const id of [byOwner.id, byAssignee.id, another.id]) {
      expect(await t.query('SELECT id FROM attachments WHERE id = $1', [id])).toHaveLength(0);
      expect(files()).not.toContain(id);
    }
    expectErrorShape(await t.http.get(`/api/v1/attachments/${byOwner.id}`).set(...bearer(owner.token)), 404);
  });

  it('deleting a task deletes its attachment rows and files and its reminders', async () => {
    const doomed = await createTask(t.http, owner.token, { title: 'Doomed' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        ((await upload(owner.token, doomed.id, Buffer.from(`f${i}`)).expect(201)).body as AttachmentBody).id,
      );
    }
    await t.query(
      `INSERT INTO reminders (task_id, remind_at, created_by) VALUES ($1, now() + interval '1 day', $2)`,
      [doomed.id, owner.id],
    );
    for (const id of ids) expect(existsSync(join(dir, id))).toBe(true);
    await t.http
      .delete(`/api/v1/tasks/${doomed.id}`)
      .set(...bearer(owner.token))
      .expect(204);
    expect(await t.query('SELECT id FROM attachments WHERE task_id = $1', [doomed.id])).toHaveLength(0);
    expect(await t.query('SELECT id FROM reminders WHERE task_id = $1', [doomed.id])).toHaveLength(0);
    for (const id of ids) expect(existsSync(join(dir, id))).toBe(false);
  });

  it('the start-up sweep removes files without a row and stale temporary files only', async () => {
    const kept = (await upload(owner.token, task.id, Buffer.from('keep')).expect(201)).body as AttachmentBody;
    const orphan = '11111111-1111-4111-8111-111111111111';
    const staleTemp = '22222222-2222-4222-8222-222222222222';
    const freshTemp = '33333333-3333-4333-8333-333333333333';
    writeFileSync(join(dir, orphan), 'orphan');
    writeFileSync(join(dir, 'README.not-ours'), 'left alone');
    writeFileSync(join(dir, 'tmp', staleTemp), 'stale');
    writeFileSync(join(dir, 'tmp', freshTemp), 'fresh');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(join(dir, 'tmp', staleTemp), old, old);

    const result = await t.app.get(AttachmentSweeper).sweep();
    expect(result).toEqual({ orphans: 1, temps: 1 });
    expect(existsSync(join(dir, orphan))).toBe(false);
    expect(existsSync(join(dir, 'tmp', staleTemp))).toBe(false);
    expect(existsSync(join(dir, 'tmp', freshTemp))).toBe(true);
    expect(existsSync(join(dir, 'README.not-ours'))).toBe(true);
    expect(existsSync(join(dir, kept.id))).toBe(true);
  });

  it('documents the upload as a multipart file field in OpenAPI', async () => {
    const doc = (await t.http.get('/api/docs-json').expect(200)).body as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const op = doc.paths['/api/v1/tasks/{taskId}/attachments'].post;
    expect(op.requestBody?.content['multipart/form-data'].schema).toMatchObject({
      type: 'object',
      properties: { file: { type: 'string', format: 'binary' } },
    });
    for (const path of ['/api/v1/attachments/{id}', '/api/v1/attachments/{id}/content']) {
      expect(doc.paths[path]).toBeDefined();
    }
  });

  describe('with ATTACHMENT_MAX_BYTES=1024', () => {
    let small: TestApp;
    let token: string;
    let smallTask: TaskBody;
    let smallDir: string;

    beforeAll(async () => {
      small = await createTestApp({ ATTACHMENT_MAX_BYTES: '1024' });
      smallDir = join(small.workDir, 'attachments');
      token = await loginAdmin(small.http);
      smallTask = await createTask(small.http, token, { title: 'Small' });
    });
    afterAll(async () => {
      await small?.close();
    });

    it('413 over the limit, with nothing kept; exactly the limit is accepted', async () => {
      const url = `/api/v1/tasks/${smallTask.id}/attachments`;
      for (const size of [1025, 200 * 1024]) {
        const res = await small.http
          .post(url)
          .set(...bearer(token))
          .attach('file', randomBytes(size), { filename: 'big.txt', contentType: 'text/plain' });
        expectErrorShape(res, 413);
        expect(messages(res)).toContain('1024');
      }
      expect(await small.query('SELECT id FROM attachments')).toHaveLength(0);
      expect(readdirSync(smallDir).filter((n) => n !== 'tmp')).toEqual([]);
      expect(readdirSync(join(smallDir, 'tmp'))).toEqual([]);
      const ok = await small.http
        .post(url)
        .set(...bearer(token))
        .attach('file', randomBytes(1024), { filename: 'exact.txt', contentType: 'text/plain' })
        .expect(201);
      expect((ok.body as AttachmentBody).size).toBe(1024);
    });
  });
});
