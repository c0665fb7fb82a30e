import { eventsOfRequest, rid } from './support/audit';
import { insertRows, seedRow } from './support/audit-seed';
import { expectErrorShape } from './support/error-shape';
import { bearer, loginAdmin } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('audit export cap (AUDIT_EXPORT_MAX_ROWS=5)', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp({ AUDIT_EXPORT_MAX_ROWS: '5' });
    admin = await loginAdmin(t.http);
    await insertRows(
      t,
      Array.from({ length: 6 }, (_, i) =>
        seedRow({
          action: 'task.created',
          occurredAt: new Date(Date.parse('2025-05-01T00:00:00Z') + i * 1000),
        }),
      ),
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('more matching rows than the cap → 422 before any byte, recorded as a failed export', async () => {
    const id = rid('cap');
    const res = await t.http
      .get('/api/v1/audit-logs/export?format=csv&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z')
      .set(...bearer(admin))
      .set('X-Request-Id', id);
    expectErrorShape(res, 422);
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.body.message).toMatch(/narrow the filters/);
    expect(await eventsOfRequest(t, id)).toEqual([
      expect.objectContaining({
        action: 'audit.exported',
        outcome: 'failure',
        status_code: 422,
        metadata: expect.objectContaining({ format: 'csv', matchingRows: 6 }),
      }),
    ]);
  });

  it('at the cap exactly, the export goes through', async () => {
    const res = await t.http
      .get('/api/v1/audit-logs/export?format=ndjson&from=2025-05-01T00:00:00Z&to=2025-05-01T00:00:04Z')
      .set(...bearer(admin))
      .buffer(true);
    expect(res.status).toBe(200);
    expect(res.text.trim().split('\n')).toHaveLength(5);
  });
});
