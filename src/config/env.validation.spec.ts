import { durationToSeconds, validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('applies defaults when nothing is set', () => {
    const c = validateEnv({});
    expect(c.PORT).toBe(3000);
    expect(c.NODE_ENV).toBe('development');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.TRUST_PROXY).toBe(false);
    expect(c.JSON_BODY_LIMIT).toBe('1mb');
  });

  it('parses numbers and booleans', () => {
    const c = validateEnv({ PORT: '8080', TRUST_PROXY: 'true', DB_MIGRATIONS_RUN: '0' });
    expect(c.PORT).toBe(8080);
    expect(c.TRUST_PROXY).toBe(true);
    expect(c.DB_MIGRATIONS_RUN).toBe(false);
  });

  it('treats empty strings as unset', () => {
    expect(validateEnv({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('names the bad variable in one line', () => {
    expect(() => validateEnv({ PORT: 'abc' })).toThrow(/^Invalid configuration: .*PORT/);
    expect(() => validateEnv({ TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY/);
    expect(() => validateEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('requires secrets and the admin in production', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/AUDIT_SIGNING_KEY/);
    expect(() =>
      validateEnv({
        NODE_ENV: 'production',
        JWT_SECRET: 'x'.repeat(32),
        AUDIT_SIGNING_KEY: 'y'.repeat(32),
        ADMIN_EMAIL: 'root@corp.example',
        ADMIN_PASSWORD: 'a-strong-password',
      }),
    ).not.toThrow();
  });

  it('rejects a short JWT secret', () => {
    expect(() => validateEnv({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32/);
  });
});

describe('durationToSeconds', () => {
  it.each([
    ['3600', 3600],
    ['15m', 900],
    ['1h', 3600],
    ['2d', 172800],
  ])('%s -> %d', (input, expected) => expect(durationToSeconds(input)).toBe(expected));
});
