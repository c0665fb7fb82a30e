import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { buildCopyExport, CrlfRecords } from './audit-export.copy';
import { sqlLiteral } from '../../../database/sql-literal';

/** Feeds `text` to a fresh transform in chunks of `size` bytes and returns the output. */
async function through(make: () => NodeJS.ReadWriteStream, text: string, size: number): Promise<string> {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return (await buffer(Readable.from(chunks).pipe(make()))).toString();
}

describe('sqlLiteral', () => {
  it.each([
    ['plain', `'plain'`],
    [`it's`, `'it''s'`],
    [`') ; DROP TABLE audit_logs; --`, `''') ; DROP TABLE audit_logs; --'`],
    [`back\\slash'`, `E'back\\\\slash'''`],
    ['', `''`],
  ])('%j → %s', (value, literal) => {
    expect(sqlLiteral(value)).toBe(literal);
  });

  it('arrays, numbers, booleans, null', () => {
    expect(sqlLiteral(['a', `b'c`])).toBe(`ARRAY['a', 'b''c']`);
    expect(sqlLiteral([])).toBe(`'{}'`);
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral(null)).toBe('NULL');
  });

  it('refuses what it cannot quote safely', () => {
    for (const bad of [undefined, {}, NaN, Infinity, 'nul\0char', 10n, Symbol('x')])
      expect(() => sqlLiteral(bad)).toThrow(/sqlLiteral/);
  });
});

describe('buildCopyExport', () => {
  it('inlines every filter as a literal: no placeholder, the hostile value stays inside its quotes', () => {
    const sql = buildCopyExport(
      { q: `') ; DROP TABLE audit_logs; --`, actorId: `x\\'y`, action: 'task.*', ip: '10.0.0.0/8' },
      'asc',
      'csv',
    );
    expect(sql).not.toMatch(/\$\d/);
    expect(sql).toContain(`ILIKE E'%'') ; DROP TABLE audit\\\\_logs; --%'`);
    expect(sql).toContain(`a.actor_id = E'x\\\\''y'`);
    expect(sql).toContain(`a.action = ANY(ARRAY['task.created'`);
    expect(sql).toMatch(
      /^COPY \(SELECT .* ORDER BY a\.occurred_at ASC, a\.id ASC\) TO STDOUT WITH \(FORMAT csv, HEADER true\)$/s,
    );
  });
});

describe('CrlfRecords', () => {
  // As PostgreSQL writes it: LF record ends; a field holding a quote, CR or LF is quoted.
  const csv = 'h1,h2\na,"x\ny"\n"q""\n",b\n"",\n"\r\n",z\n"""",\n';
  const want = 'h1,h2\r\na,"x\ny"\r\n"q""\n",b\r\n"",\r\n"\r\n",z\r\n"""",\r\n';

  it('adds CR before record-ending LFs only, whatever the chunk boundaries', async () => {
    for (let size = 1; size <= csv.length; size++) {
      expect(await through(() => new CrlfRecords(), csv, size)).toBe(want);
    }
  });

  it('agrees with a byte-by-byte reference on random quote/LF soups', async () => {
    // The reference: toggle on every quote, CR before every LF outside quotes.
    const reference = (text: string): string => {
      let quoted = false;
      let out = '';
      for (const c of text) {
        if (c === '"') quoted = !quoted;
        else if (c === '\n' && !quoted) out += '\r';
        out += c;
      }
      return out;
    };
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const alphabet = ['a', '"', '"', '\n', '\r', ',', 'é'];
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: random(60) }, () => alphabet[random(alphabet.length)]).join('');
      expect(await through(() => new CrlfRecords(), text, 1 + random(9))).toBe(reference(text));
    }
  });

  it('passes unicode through untouched', async () => {
    expect(await through(() => new CrlfRecords(), '"日本\n語 🎉",é\n', 1)).toBe('"日本\n語 🎉",é\r\n');
  });
});
