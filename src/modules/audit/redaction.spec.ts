import { diffChanges, createdChanges, deletedChanges } from './changes';
import { MAX_STRING_LENGTH, REDACTED, Redactor } from './redaction';

describe('Redactor', () => {
  const r = new Redactor([
    'password',
    'passwd',
    'secret',
    'token',
    'authorization',
    'cookie',
    'api_key',
    'apikey',
    'credential',
  ]);

  it('redacts secret keys at any depth, in any letter case and spelling', () => {
    const out = r.redact({
      password: 'p',
      newPassword: 'p2',
      nested: {
        deeper: [
          { accessToken: 't', Authorization: 'Bearer x', 'x-api-key': 'k', API_KEY: 'k2', ok: 'visible' },
        ],
      },
      clientSecret: 's',
      credentials: { user: 'u' },
      cookieJar: 'c',
    });
    expect(out).toEqual({
      password: REDACTED,
      newPassword: REDACTED,
      nested: {
        deeper: [
          {
            accessToken: REDACTED,
            Authorization: REDACTED,
            'x-api-key': REDACTED,
            API_KEY: REDACTED,
            ok: 'visible',
          },
        ],
      },
      clientSecret: REDACTED,
      credentials: REDACTED,
      cookieJar: REDACTED,
    });
  });

  it('truncates long strings with a marker', () => {
    const out = r.redact({ text: 'x'.repeat(MAX_STRING_LENGTH + 10) }) as { text: string };
    expect(out.text).toHaveLength(MAX_STRING_LENGTH + '…[truncated 10 chars]'.length);
    expect(out.text.endsWith('…[truncated 10 chars]')).toBe(true);
  });

  it('bounds depth', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(r.redact(deep))).toContain('[TRUNCATED: too deep]');
  });
});

describe('changes', () => {
  it('keeps only fields that really changed, dates as ISO strings', () => {
    const before = {
      status: 'todo',
      title: 'A',
      dueAt: new Date('2026-01-01T00:00:00Z'),
      note: null as string | null,
    };
    const after = { status: 'done', title: 'A', dueAt: new Date('2026-01-01T00:00:00Z'), note: 'x' };
    expect(diffChanges(before, after, ['status', 'title', 'dueAt', 'note'])).toEqual({
      status: { from: 'todo', to: 'done' },
      note: { from: null, to: 'x' },
    });
    expect(diffChanges(before, { ...before }, ['status', 'title', 'dueAt', 'note'])).toEqual({});
  });

  it('describes creates and deletes', () => {
    expect(createdChanges({ a: 1, b: undefined }, ['a', 'b'])).toEqual({
      a: { from: null, to: 1 },
      b: { from: null, to: null },
    });
    expect(deletedChanges({ a: 1 }, ['a'])).toEqual({ a: { from: 1, to: null } });
  });
});
