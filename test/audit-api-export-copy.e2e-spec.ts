import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { PoolClient } from 'pg';
import type { AuditEventRow } from '../src/modules/audit/audit.types';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { copyExport } from '../src/modules/audit/query/audit-export.copy';
import { CSV_HEADER, csvRow } from '../src/modules/audit/query/audit-export.format';
import { sqlLiteral } from '../src/database/sql-literal';
import { AUDIT_ITEM_COLUMNS, AuditItemRow } from '../src/modules/audit/query/audit-query.builder';
import { eventsOfRequest, rid } from './support/audit';
import { insertRows, seedRow } from './support/audit-seed';
import { volumeInsertSql } from './support/audit-volume';
import { parseCsv } from './support/csv';
import { bearer, loginAdmin } from './support/factories';
import { within } from './support/deadline';
import { createTestApp, TestApp } from './support/test-app';

const API = '/api/v1/audit-logs';
const FROM = '2025-06-01T00:00:00Z';
const TO = '2025-06-01T01:00:00Z';
const HOSTILE = `') ; DROP TABLE audit_logs; --`;
const BACKSLASHED = `C:\\temp\\'x' 100%_done \\N \\.`;

/** Everything that has to survive: quotes, backslashes, separators, control characters, unicode. */
function trickyRows(): AuditEventRow[] {
  const at = (s: number) => new Date(Date.parse(FROM) + s * 1000);
  return [
    seedRow({
      action: 'task.created',
      occurredAt: at(1),
      actorType: 'user',
      actorId: `o'brien\\`,
      actorDisplay: '=HYPERLINK("http://evil.example","click")',
      resourceType: 'task',
      resourceId: HOSTILE,
      resourceDisplay: '+SUM(A1:A9)',
      description: `before ${HOSTILE} after`,
      userAgent: '-2+3',
      httpPath: '@import',
      requestId: '\tTabbed',
      httpMethod: 'POST',
      statusCode: 201,
      durationMs: 3,
      ipAddress: '2001:db8::7',
      changes: { title: { from: 'a\\b', to: 'a,"b"\nc\r\n\u0001\u0002' } },
      metadata: { note: '=1+1', path: 'C:\\x\\"y"', nested: { u: '日本語 🎉 \u2028', ctl: '\u0007\u001f' } },
    }),
    seedRow({
      action: 'error.unhandled',
      occurredAt: at(2),
      outcome: 'error',
      severity: 'critical',
      description: BACKSLASHED,
      errorType: 'TypeError',
      errorMessage: '=cmd|" /C calc"!A0\n\\"',
      errorStack: 'Error\n    at x\\y',
    }),
    seedRow({ action: 'system.started', occurredAt: at(3), description: '\\.' }),
    seedRow({
      action: 'system.started',
      occurredAt: at(4),
      description: '\rCR first, ""quoted"" \u0001\u0002',
    }),
    seedRow({
      action: 'auth.login_failed',
      occurredAt: at(5),
      outcome: 'failure',
      severity: 'warning',
      actorType: 'anonymous',
      actorDisplay: null,
      description: 'ünïcödé — "quotes", commas\nand newlines',
    }),
  ];
}

/** The items of an NDJSON body (one per non-empty line). */
const ndjson = <T = unknown>(text: string): T[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

/** Strips quoted CSV fields, leaving only what separates fields and records. */
const skeleton = (csv: string): string => csv.replace(/"(?:[^"]|"")*"/g, 'Q');

describe.each(['copy', 'cursor'] as const)('audit export (AUDIT_EXPORT_STRATEGY=%s)', (strategy) => {
  let t: TestApp;
  let admin: string;
  let rows: AuditEventRow[];

  beforeAll(async () => {
    t = await createTestApp({ AUDIT_EXPORT_STRATEGY: strategy, AUDIT_EXPORT_STALL_TIMEOUT_MS: '1500' });
    admin = await loginAdmin(t.http);
    rows = trickyRows();
    await insertRows(t, rows);
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = (url: string) =>
    t.http
      .get(url)
      .set(...bearer(admin))
      .buffer(true);
  const listed = async (query: string) => {
    const res = await get(`${API}?${query}&limit=200`);
    expect(res.status).toBe(200);
    return (res.body as { items: unknown[] }).items;
  };

  it('CSV: the same records as the JS reference formatter, CRLF record ends', async () => {
    const res = await get(`${API}/export?format=csv&from=${FROM}&to=${TO}&order=asc`);
    expect(res.status).toBe(200);
    const dbRows = await t.query<AuditItemRow>(
      `SELECT ${AUDIT_ITEM_COLUMNS} FROM audit_logs a WHERE a.occurred_at BETWEEN $1 AND $2 ORDER BY a.occurred_at, a.id`,
      [FROM, TO],
    );
    expect(dbRows).toHaveLength(rows.length);
    const reference = CSV_HEADER + dbRows.map(csvRow).join('');
    const [got, want] = [parseCsv(res.text), parseCsv(reference)];
    expect(got).toHaveLength(want.length);
    const jsonCells = [want[0].indexOf('changes'), want[0].indexOf('metadata')];
    got.forEach((record, r) =>
      record.forEach((cell, c) => {
        // JSON columns: same value, whitespace may differ (PostgreSQL's jsonb text vs JSON.stringify).
        if (r > 0 && jsonCells.includes(c) && cell !== '')
          expect(JSON.parse(cell)).toEqual(JSON.parse(want[r][c]));
        else expect([r, c, cell]).toEqual([r, c, want[r][c]]);
      }),
    );
    // RFC 4180: every record ends with CRLF; no bare LF between records.
    const bare = skeleton(res.text);
    expect(bare.endsWith('\r\n')).toBe(true);
    expect(bare.split('\r\n')).toHaveLength(rows.length + 2);
    expect(bare.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('NDJSON and JSON: exactly the items of the search, with escapes intact', async () => {
    const items = await listed(`from=${FROM}&to=${TO}&order=asc`);
    expect(items).toHaveLength(rows.length);
    const nd = await get(`${API}/export?format=ndjson&from=${FROM}&to=${TO}&order=asc`);
    expect(nd.status).toBe(200);
    const lines = nd.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(items);
    const js = await get(`${API}/export?format=json&from=${FROM}&to=${TO}&order=desc`);
    expect(js.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(js.text)).toEqual([...items].reverse());
  });

  it('NDJSON and JSON: sealed as in the API once the sealer has chained the rows', async () => {
    await t.app.get(AuditSealer).sealOnce();
    const items = (await listed(`from=${FROM}&to=${TO}&order=asc`)) as { sealed: boolean }[];
    expect(items.map((i) => i.sealed)).toEqual(rows.map(() => true));
    const nd = await get(`${API}/export?format=ndjson&from=${FROM}&to=${TO}&order=asc`);
    expect(ndjson(nd.text)).toEqual(items);
    const js = await get(`${API}/export?format=json&from=${FROM}&to=${TO}&order=asc`);
    expect(JSON.parse(js.text)).toEqual(items);
  });

  it('hostile filter values are data, never SQL: same rows as the (bind-parameter) search', async () => {
    const cases = [
      `q=${encodeURIComponent(HOSTILE)}`,
      `q=${encodeURIComponent(BACKSLASHED)}`,
      `q=${encodeURIComponent(`%' OR '1'='1`)}`,
      `resourceId=${encodeURIComponent(HOSTILE)}`,
      `actorId=${encodeURIComponent(`o'brien\\`)}`,
      `actorId=${encodeURIComponent(`\\'; SELECT pg_sleep(30); --`)}`,
      `requestId=${encodeURIComponent(`$1'::text); DROP TABLE audit_logs; --`)}`,
      `action=task.*&ip=2001:db8::/32`,
    ];
    for (const filter of cases) {
      const want = ((await listed(`from=${FROM}&to=${TO}&${filter}`)) as { id: string }[]).map((i) => i.id);
      const res = await get(`${API}/export?format=ndjson&from=${FROM}&to=${TO}&${filter}`);
      expect([filter, res.status]).toEqual([filter, 200]);
      const got = ndjson<{ id: string }>(res.text).map((i) => i.id);
      expect([filter, got]).toEqual([filter, want]);
    }
    // The single-quote ones did match something: the values were compared as data.
    expect((await listed(`q=${encodeURIComponent(HOSTILE)}`)).length).toBe(1);
    expect((await listed(`q=${encodeURIComponent(BACKSLASHED)}`)).length).toBe(1);
    const [{ n }] = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE occurred_at BETWEEN $1 AND $2`,
      [FROM, TO],
    );
    expect(n).toBe(rows.length);
  });

  it('sqlLiteral round-trips through PostgreSQL, whatever standard_conforming_strings says', async () => {
    const values = [HOSTILE, BACKSLASHED, `'\\'`, '\\', "''", "E'x'", 'ünï 🎉\n\r\t'];
    for (const scs of ['on', 'off']) {
      await t.dataSource.transaction(async (m) => {
        await m.query(`SET LOCAL standard_conforming_strings = ${scs}`);
        await m.query(`SET LOCAL escape_string_warning = off`);
        for (const v of values) {
          const [row] = await m.query<{ v: string }[]>(`SELECT ${sqlLiteral(v)}::text AS v`);
          expect([scs, row.v]).toEqual([scs, v]);
        }
      });
    }
  });

  describe('client disconnect mid-export', () => {
    const BULK_FROM = '2024-01-01T00:00:00Z';
    let port: number;

    beforeAll(async () => {
      await t.query(
        volumeInsertSql(30_000).replace('now() - power(r4, 2)', `'2024-06-01'::timestamptz - power(r4, 2)`),
      );
      await t.app.listen(0, '127.0.0.1');
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    });

    /** Starts an export of the bulk rows as request `requestId`; `onResponse` gets the response. */
    const startExport = (
      format: string,
      requestId: string,
      onResponse: (res: IncomingMessage) => void,
    ): ClientRequest => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          path: `${API}/export?format=${format}&to=${BULK_FROM.replace('2024', '2025')}`,
          headers: { Authorization: `Bearer ${admin}`, 'X-Request-Id': requestId },
        },
        onResponse,
      );
      req.end();
      return req;
    };

    /** The events of request `id`, once its transaction has ended (polled: the client may finish first). */
    const eventsOnceWritten = async (id: string) => {
      let events: Awaited<ReturnType<typeof eventsOfRequest>> = [];
      for (let i = 0; i < 150 && events.length === 0; i++) {
        events = await eventsOfRequest(t, id);
        if (events.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      return events;
    };

    /** Starts an export, reads its first chunk, then drops the connection. */
    const abandon = (format: string, requestId: string) =>
      new Promise<number>((resolve, reject) => {
        const req = startExport(format, requestId, (res) => {
          res.once('data', (chunk: Buffer) => {
            req.destroy();
            resolve(chunk.length);
          });
        });
        req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      });

    it.each(['csv', 'ndjson', 'json'])(
      '%s: the server drops the stream, keeps serving, records the abort',
      async (format) => {
        const id = rid(`abandon-${format}`);
        expect(await abandon(format, id)).toBeGreaterThan(0);
        // Still serving, on the same (on the embedded database: the only) connection.
        const after = await t.http.get(`${API}?limit=1`).set(...bearer(admin));
        expect(after.status).toBe(200);
        expect(await eventsOnceWritten(id)).toEqual([
          expect.objectContaining({
            action: 'audit.exported',
            metadata: expect.objectContaining({ aborted: true }),
          }),
        ]);
        // A full export right after is complete.
        const full = await get(
          `${API}/export?format=ndjson&from=2023-01-01T00:00:00Z&to=2024-12-31T00:00:00Z`,
        );
        expect(full.status).toBe(200);
        expect(full.text.split('\n').filter(Boolean)).toHaveLength(30_000);
      },
    );

    /**
     * Starts an export, reads its first chunk, then reads nothing more. (The client never sees the
     * server hang up: the bytes already sent wait in its unread receive buffer, the FIN behind them.)
     */
    const stall = (format: string, requestId: string) => {
      let firstChunk: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (firstChunk = resolve));
      const req = startExport(format, requestId, (res) => {
        res.once('data', () => {
          res.pause();
          firstChunk();
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      return { started, req };
    };

    it.each(['csv', 'ndjson'])(
      '%s: a client that stops reading is cut off after AUDIT_EXPORT_STALL_TIMEOUT_MS, recorded as stalled; other requests go on',
      async (format) => {
        const id = rid(`stall-${format}`);
        const { started, req } = stall(format, id);
        await within(started, 'no first chunk');
        // The export holds its transaction while the client does not read: on the embedded database
        // this request waits for the cut-off, on a server it is served at once. Either way it is served.
        const during = await within(
          t.http.get(`${API}?limit=1`).set(...bearer(admin)),
          'blocked behind the stalled export',
        );
        expect(during.status).toBe(200);
        // Cut off: its transaction ended, and with it the export's event was written.
        const events = await eventsOnceWritten(id);
        req.destroy();
        expect(events).toEqual([
          expect.objectContaining({
            action: 'audit.exported',
            metadata: expect.objectContaining({ aborted: true, stalled: true }),
          }),
        ]);
      },
    );
  });

  // After the disconnect tests: these rows (2300, 10000) would be inside their open-ended window.
  it('NDJSON: timestamps of any year (beyond a double of microseconds too) as the API writes them', async () => {
    const actorId = `era-${strategy}`;
    // [stored, as the API's to_char writes it]: 44 BC is 0044, as to_char's YYYY has it.
    const eras: Array<[string, string]> = [
      ['-000043-03-15T12:00:00.000Z', '0044-03-15T12:00:00.000000Z'],
      ['1716-01-01T00:00:00.001Z', '1716-01-01T00:00:00.001000Z'],
      ['1999-12-31T23:59:59.999Z', '1999-12-31T23:59:59.999000Z'],
      ['2024-02-29T23:59:59.5Z', '2024-02-29T23:59:59.500000Z'],
      ['2300-06-15T12:00:00Z', '2300-06-15T12:00:00.000000Z'],
      ['+010000-01-02T03:04:05.123Z', '10000-01-02T03:04:05.123000Z'],
    ];
    await insertRows(
      t,
      eras.map(([at]) =>
        seedRow({ action: 'system.started', occurredAt: new Date(at), actorType: 'user', actorId }),
      ),
    );
    const items = await listed(`actorId=${actorId}&order=asc`);
    expect((items as { occurredAt: string }[]).map((i) => i.occurredAt)).toEqual(eras.map(([, api]) => api));
    const nd = await get(`${API}/export?format=ndjson&actorId=${actorId}&order=asc`);
    expect(nd.status).toBe(200);
    expect(ndjson(nd.text)).toEqual(items);
  });
});

describe('copyExport when the shaper cannot read what COPY sends', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads the rest of the COPY, rethrows, and the connection goes on', async () => {
    const runner = t.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    await runner.startTransaction();
    try {
      const sink = new PassThrough().resume();
      // One column instead of the item's 27: ItemLines refuses the first row, 199,999 rows follow.
      const sql = `COPY (SELECT g FROM generate_series(1, 200000) g) TO STDOUT (FORMAT binary)`;
      await expect(within(copyExport(client, sql, 'ndjson', sink), 'copyExport hung')).rejects.toThrow(
        'expected 27 columns, got 1',
      );
      // Not stuck behind an unread COPY: the transaction's next statement answers.
      const [row] = await within(
        runner.query('SELECT 41 + 1 AS n') as Promise<{ n: number }[]>,
        'connection stuck',
      );
      expect(row.n).toBe(42);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
