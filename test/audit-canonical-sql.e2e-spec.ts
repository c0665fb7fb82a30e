import { randomUUID } from 'node:crypto';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditService } from '../src/modules/audit/audit.service';
import {
  canonicalEvent,
  canonicalEventSql,
  canonicalSelect,
  ChainRow,
  eventHash,
  eventHashSql,
} from '../src/modules/audit/integrity/canonical';
import { createTestApp, TestApp } from './support/test-app';

/**
 * Differential test: the canonical string and hash PostgreSQL computes (canonicalEventSql /
 * eventHashSql, used by the verifier) must equal the JS ones (canonicalEvent / eventHash, used by the
 * sealer and the offline archive check) byte for byte, over hostile values.
 */
const controls = Array.from({ length: 0x1f }, (_, i) => String.fromCharCode(i + 1)).join('');
const nasty: string[] = [
  '',
  ' ',
  '"',
  '\\',
  '\\"',
  '"\\"\\\\"',
  '\\u0000 literally',
  '/ and </script>',
  controls,
  `a${controls}b`,
  '\u007f DEL',
  '\u0080\u009f C1 controls \u00a0 nbsp',
  'é ü ß Ω ж 中文 日本語 한국어',
  '𝄞 𐍈 😀 👩‍👩‍👧‍👦 🏳️‍🌈 🇩🇪', // astral plane, ZWJ sequences, flags
  '\u200f RTL mark \u200e LTR mark \u202e override \u2066isolate\u2069',
  '\u2028 line sep \u2029 paragraph sep',
  '\ufeff BOM \ufffd replacement \uffff',
  'tab\there\nnewline\r\ncrlf\fformfeed\bbackspace\u000bvt',
  "single ' quote ''",
  '{"looks":"like json"}',
  'null',
  '[1,2]',
  'x'.repeat(200_000) + '"\\\n' + '😀'.repeat(10_000),
];
const jsons: unknown[] = [
  {},
  [],
  { a: 'quote " backslash \\ newline \n tab \t ctrl \u0001 del \u007f' },
  { 'ключ 😀': { nested: ['𝄞', null, true, 1.5e300, -0, 1e-7, '\u200f'], é: { '': '' } } },
  { z: 1, a: 2, m: [3, { y: '\u2028\u2029', b: '</script>' }] },
  { big: 'y'.repeat(100_000), emoji: '👩‍👩‍👧‍👦'.repeat(1000) },
  'a bare string with "quotes"',
  9007199254740991,
  null,
];
/** JSON texts as stored (jsonb normalises them: big numerics, escapes, duplicate keys, spacing). */
const jsonTexts: string[] = [
  ...jsons.map((j) => JSON.stringify(j)),
  '{"n": 123456789012345678901234567890.50e3, "f": 1.0, "neg": -0.0, "e": 1E-20}',
  '{"esc": "\\u00e9 \\ud83d\\ude00 \\u200f \\u0001 \\/ \\"", "dup": 1, "dup": 2}',
  '  [ 1 , "a" , { "b" : [ ] } ]  ',
];
const ips = [
  null,
  '127.0.0.1',
  '10.1.2.0/24',
  '::1',
  '2001:db8::ff00:42:8329',
  '::ffff:192.0.2.128',
  'fe80::1/64',
];

interface Row {
  canonical: string;
  sql_canonical: string;
  sql_hash: Buffer;
}

describe('canonical serialisation: PostgreSQL (array_to_json, sha256) = JavaScript (JSON.stringify)', () => {
  let t: TestApp;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    const audit = t.app.get(AuditService);
    await t.app.get(TransactionRunner).run(() =>
      audit.recordMany(
        nasty.map((s, i) => ({
          action: 'system.started' as const,
          actor: { type: 'system' as const, id: null, name: s.slice(0, 100) },
          metadata: { i, s, nested: jsons[i % jsons.length] },
          changes: i % 2 === 0 ? { title: { from: s, to: null } } : null,
        })),
      ),
    );
    const n = Math.max(nasty.length, jsonTexts.length, ips.length);
    for (let i = 0; i < n; i++) {
      const s = nasty[i % nasty.length];
      const short = s.slice(0, 150);
      const id = randomUUID();
      ids.push(id);
      // Straight INSERTs (not the writer) so that every value is stored as given; some fields NULL.
      await t.query(
        `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, actor_id,
           actor_display, resource_type, resource_id, resource_display, request_id, http_method, http_path,
           status_code, duration_ms, ip_address, user_agent, changes, metadata, description, error_type,
           error_message, error_stack)
         VALUES ($1, $2::timestamptz, 'system.started', 'system', 'error', 'critical', 'user', $3, $4, $5, $6,
           $7, $8, $9, $10, $11, $12, $13::inet, $14, $15::jsonb, $16::jsonb, $17, $18, $19, $20)`,
        [
          id,
          ['2026-01-02T03:04:05.678901Z', '1999-12-31T23:59:59Z', '2026-06-30T22:00:00.000001+02:00'][i % 3],
          short, // indexed columns: short enough for a btree entry
          i % 4 === 0 ? null : s,
          short,
          i % 5 === 0 ? '' : short,
          short,
          i % 2 === 0 ? null : short,
          'PATCH',
          s,
          [null, 0, -1, 2147483647][i % 4],
          [null, 0, 123456][i % 3],
          ips[i % ips.length],
          s.slice(0, 500),
          jsonTexts[i % jsonTexts.length],
          jsonTexts[(i + 3) % jsonTexts.length],
          s,
          i % 3 === 0 ? null : short, // error_type is indexed too (AuditRareValueIndexes)
          s,
          s.slice(0, 4000),
        ],
      );
      // Its chain row (as the sealer writes it, with made-up hashes: only the hashing is compared here).
      await t.query(
        `INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
         SELECT $2, a.seq, a.occurred_at, sha256($3::bytea), sha256($4::bytea) FROM audit_logs a WHERE a.id = $1`,
        [id, String(9_000_000_000_000 + i), Buffer.from(`p${i}`), Buffer.from(`h${i}`)],
      );
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('every hostile row: same canonical string and same SHA-256 in SQL and in JS', async () => {
    const rows = await t.query<ChainRow & Row>(
      `SELECT ${canonicalSelect('a', 'c')}, ${canonicalEventSql('a', 'c')} AS sql_canonical, ${eventHashSql('a', 'c')} AS sql_hash
         FROM audit_logs a JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at
        WHERE a.id = ANY($1::uuid[]) ORDER BY c.chain_pos`,
      [ids],
    );
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) {
      expect(row.sql_canonical).toBe(canonicalEvent(row));
      expect(row.sql_hash.toString('hex')).toBe(eventHash(row.prev_hash as Buffer, row).toString('hex'));
    }
    // The hostile values did reach the canonical string (a guard against a vacuous comparison).
    const all = rows.map((r) => r.sql_canonical).join('');
    for (const needle of [
      '\\u0001',
      '\\u001f',
      '\\b',
      '\\f',
      '\\n',
      '\\r',
      '\\t',
      '\\"',
      '\\\\',
      '\u007f',
      '😀',
      '\u200f',
      '::1',
      'null,',
    ])
      expect(all).toContain(needle);
    expect(all).not.toMatch(/", "|\[ "/);
  });

  it('the real event shapes (the app writes them): same canonical string in SQL and in JS', async () => {
    const rows = await t.query<ChainRow & Row>(
      `SELECT ${canonicalSelect('a', 'c')}, ${canonicalEventSql('a', 'c')} AS sql_canonical
         FROM audit_logs a LEFT JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at`,
    );
    expect(rows.length).toBeGreaterThan(ids.length);
    for (const row of rows) expect(row.sql_canonical).toBe(canonicalEvent(row));
  });
});
