import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BINARY_ITEM_COLUMNS, BinaryCopyError, ItemLines, ROW_EXTRA } from './audit-export.binary';

/*
 * ItemLines against hand-made binary COPY streams (the format of PostgreSQL's docs, "Binary Format").
 * The e2e tests (audit-api-export-copy) check it against a real server and the API's items.
 */

type Cell = Buffer | null;

const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const txt = (s: string | null): Cell => (s === null ? null : Buffer.from(s, 'utf8'));
const uuid = (s: string): Buffer => Buffer.from(s.replace(/-/g, ''), 'hex');
/** timestamptz: microseconds since 2000-01-01 UTC. */
const ts = (iso: string, micros = 0): Buffer =>
  i64(BigInt(Date.parse(iso) - Date.UTC(2000, 0, 1)) * 1000n + BigInt(micros));
const jsonb = (text: string | null): Cell =>
  text === null ? null : Buffer.concat([Buffer.from([1]), Buffer.from(text, 'utf8')]);

const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), i32(0), i32(0)]);
const TRAILER = Buffer.from([0xff, 0xff]);

function tuple(cells: Cell[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(cells.length);
  return Buffer.concat([count, ...cells.flatMap((c) => (c === null ? [i32(-1)] : [i32(c.length), c]))]);
}

interface Event {
  id: string;
  seq: bigint;
  at: Buffer;
  action: string;
  outcome: string;
  actorId: string | null;
  actorDisplay: string | null;
  statusCode: number | null;
  durationMs: number | null;
  ip: string | null;
  changes: string | null;
  description: string;
  errorType: string | null;
  errorMessage: string | null;
  errorStack: string | null;
  sealed: boolean;
}

const BASE: Event = {
  id: '01a2512f-9118-75c1-96d3-c7fcca2cc306',
  seq: 42n,
  at: ts('2026-12-07T15:46:41.561Z', 123),
  action: 'task.updated',
  outcome: 'success',
  actorId: '5c9f541d-7237-4f23-b019-3fd1c6d21ca5',
  actorDisplay: 'Ada <ada@example.com>',
  statusCode: 200,
  durationMs: 12,
  ip: '2001:db8::7',
  changes: '{"title":{"from":"a","to":"b"}}',
  description: 'Ada updated a task',
  errorType: null,
  errorMessage: null,
  errorStack: null,
  sealed: true,
};

/** The binary row of `e`; `replace` swaps cells by column index (a wrong type, say). */
function row(e: Event, replace: Record<number, Cell> = {}): Buffer {
  const cells: Cell[] = [
    uuid(e.id),
    i64(e.seq),
    e.at,
    txt(e.action),
    txt('task'),
    txt(e.outcome),
    txt('info'),
    txt('user'),
    txt(e.actorId),
    txt(e.actorDisplay),
    txt('task'),
    txt('t-1'),
    txt(null),
    txt('req-1'),
    txt('PATCH'),
    txt('/api/v1/tasks/t-1'),
    e.statusCode === null ? null : i32(e.statusCode),
    e.durationMs === null ? null : i32(e.durationMs),
    txt(e.ip),
    txt(null),
    jsonb(e.changes),
    jsonb('{}'),
    txt(e.description),
    txt(e.errorType),
    txt(e.errorMessage),
    txt(e.errorStack),
    Buffer.from([e.sealed ? 1 : 0]),
  ];
  expect(cells).toHaveLength(BINARY_ITEM_COLUMNS.length);
  return tuple(cells.map((c, i) => (i in replace ? replace[i] : c)));
}

/** The item toItem would build for `e`, with `occurredAt` as given. */
function item(e: Event, occurredAt: string, seq: number | string = Number(e.seq)): string {
  const display: Record<string, { label: string; color: string }> = {
    success: { label: 'Success', color: 'green' },
    failure: { label: 'Failure', color: 'red' },
    error: { label: 'Error', color: 'orange' },
  };
  const json = JSON.stringify({
    id: e.id,
    seq: 0,
    occurredAt,
    action: e.action,
    category: 'task',
    outcome: e.outcome,
    severity: 'info',
    actor: { type: 'user', id: e.actorId, display: e.actorDisplay },
    resource: { type: 'task', id: 't-1', display: null },
    request: {
      id: 'req-1',
      method: 'PATCH',
      path: '/api/v1/tasks/t-1',
      statusCode: e.statusCode,
      durationMs: e.durationMs,
      ip: e.ip,
      userAgent: null,
    },
    changes: e.changes === null ? null : (JSON.parse(e.changes) as unknown),
    metadata: {},
    description: e.description,
    error:
      e.errorType !== null || e.errorMessage !== null
        ? { type: e.errorType, message: e.errorMessage, stack: e.errorStack }
        : null,
    display: display[e.outcome] ?? { label: e.outcome, color: 'grey' },
    sealed: e.sealed,
  });
  // seq as written (a number beyond 2^53 has no exact JS number).
  return json.replace('"seq":0', `"seq":${seq}`);
}

/** Feeds `bytes` to a fresh ItemLines in chunks of `size` bytes and returns the output. */
async function through(bytes: Buffer, size: number, array = false): Promise<string> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return (await buffer(Readable.from(chunks).pipe(new ItemLines(array)))).toString('utf8');
}

const stream = (...rows: Buffer[]): Buffer => Buffer.concat([HEADER, ...rows, TRAILER]);

describe('ItemLines', () => {
  const tricky: Event = {
    ...BASE,
    seq: 9_007_199_254_740_993n,
    at: ts('1999-12-31T23:59:59.999Z', 999),
    outcome: 'error',
    actorId: null,
    actorDisplay: '=HYPERLINK("x") \\ 日本語 🎉 \u2028 \u0001\t\r\n',
    statusCode: -1,
    durationMs: null,
    ip: null,
    changes: null,
    description: 'said "hi"\\',
    errorType: 'TypeError',
    errorMessage: null,
    errorStack: 'Error\n    at x\\y',
    sealed: false,
  };

  it('writes each row as the API item, whatever the chunk boundaries', async () => {
    const bytes = stream(row(BASE), row(tricky));
    const want =
      `${item(BASE, '2026-12-07T15:46:41.561123Z')}\n` +
      `${item(tricky, '1999-12-31T23:59:59.999999Z', '9007199254740993')}\n`;
    for (let size = 1; size <= bytes.length; size += size < 40 ? 1 : 17) {
      expect(await through(bytes, size)).toBe(want);
    }
  });

  it('writes timestamps as to_char(… "YYYY-MM-DD\\"T\\"HH24:MI:SS.US\\"Z\\"") does, any year', async () => {
    const cases: Array<[Buffer, string]> = [
      [ts('2000-01-01T00:00:00.000Z'), '2000-01-01T00:00:00.000000Z'],
      [ts('2024-02-29T12:34:56.789Z', 12), '2024-02-29T12:34:56.789012Z'],
      [ts('1970-01-01T00:00:00.000Z', 1), '1970-01-01T00:00:00.000001Z'],
      [ts('0999-03-01T01:02:03.000Z'), '0999-03-01T01:02:03.000000Z'],
      [ts('9999-12-31T23:59:59.999Z', 999), '9999-12-31T23:59:59.999999Z'],
      [ts('+010000-01-02T03:04:05.123Z', 456), '10000-01-02T03:04:05.123456Z'],
      [ts('+275760-09-13T00:00:00.000Z', 1), '275760-09-13T00:00:00.000001Z'],
      // BC years as their number (to_char's YYYY): year 0 is 1 BC.
      [ts('0000-06-01T00:00:00.000Z'), '0001-06-01T00:00:00.000000Z'],
      [ts('-000043-03-15T12:00:00.000Z'), '0044-03-15T12:00:00.000000Z'],
    ];
    for (const [at, text] of cases) {
      const out = await through(stream(row({ ...BASE, at })), 64);
      expect((JSON.parse(out) as { occurredAt: string }).occurredAt).toBe(text);
    }
    // ±infinity: to_char gives NULL, the item null.
    for (const infinity of ['7fffffffffffffff', '8000000000000000']) {
      const out = await through(stream(row({ ...BASE, at: Buffer.from(infinity, 'hex') })), 64);
      expect((JSON.parse(out) as { occurredAt: string | null }).occurredAt).toBeNull();
    }
  });

  it('an unknown outcome is its own label, grey (as toItem)', async () => {
    const odd = { ...BASE, outcome: 'partial "x"' };
    expect(await through(stream(row(odd)), 1000)).toBe(`${item(odd, '2026-12-07T15:46:41.561123Z')}\n`);
  });

  it('JSON: one array, [] when empty', async () => {
    const two = await through(stream(row(BASE), row({ ...BASE, seq: 43n })), 7, true);
    expect(two).toMatch(/^\[\n\{.*\}\n,\{.*\}\n\]\n$/s);
    expect((JSON.parse(two) as Array<{ seq: number }>).map((i) => i.seq)).toEqual([42, 43]);
    expect(await through(stream(), 3, true)).toBe('[]\n');
    expect(await through(stream(), 3, false)).toBe('');
  });

  it('rows larger than the output buffer, and escapes that outgrow the row', async () => {
    const big = { ...BASE, description: 'x'.repeat(200_000), changes: `{"k":"${'y'.repeat(100_000)}"}` };
    const escapes = { ...BASE, actorDisplay: '\u0001'.repeat(30_000), description: '"'.repeat(70_000) };
    const out = await through(stream(row(BASE), row(big), row(escapes), row(BASE)), 65_536);
    expect(out).toBe(
      [BASE, big, escapes, BASE].map((e) => `${item(e, '2026-12-07T15:46:41.561123Z')}\n`).join(''),
    );
  });

  it('the fixed part of the widest row stays within ROW_EXTRA', async () => {
    // Every field present and short, an error object, the longest ints: output minus text is fixed.
    const widest: Event = {
      ...BASE,
      seq: 9_223_372_036_854_775_807n,
      outcome: 'failure',
      actorId: 'a',
      actorDisplay: 'b',
      statusCode: -2_147_483_648,
      durationMs: 2_147_483_647,
      ip: '1',
      changes: '{}',
      description: 'c',
      errorType: 'd',
      errorMessage: 'e',
      errorStack: 'f',
      sealed: false,
    };
    const binary = row(widest);
    const out = await through(stream(binary), 1 << 16, true);
    expect(Buffer.byteLength(out) - 3 /* ]\n */ - binary.length).toBeLessThan(ROW_EXTRA / 2);
  });

  it('refuses a stream that is not a whole binary COPY of the item columns', async () => {
    await expect(through(Buffer.from('id,seq\n1,2\n'), 64)).rejects.toThrow(BinaryCopyError);
    await expect(through(stream(row(BASE)).subarray(0, 200), 64)).rejects.toThrow('ended early');
    await expect(through(Buffer.concat([HEADER, row(BASE)]), 64)).rejects.toThrow('ended early');
    await expect(through(stream(tuple([txt('a')])), 64)).rejects.toThrow('expected 27 columns, got 1');
    // A column whose type changed (status code as int8, a 15-byte id, no outcome) is not misread.
    const status = BINARY_ITEM_COLUMNS.indexOf('a.status_code::int4');
    const wrong: Array<Record<number, Cell>> = [
      { [status]: i64(200n) },
      { 0: Buffer.alloc(15) },
      { 5: null },
    ];
    for (const replace of wrong)
      await expect(through(stream(row(BASE, replace)), 64)).rejects.toThrow('binary size');
  });
});
