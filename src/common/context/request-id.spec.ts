import { normaliseIp, resolveRequestId } from './request-id';

describe('resolveRequestId', () => {
  it('keeps a valid id', () => expect(resolveRequestId('abc-123_X')).toBe('abc-123_X'));
  it('keeps the first of repeated headers', () => expect(resolveRequestId(['a1', 'b2'])).toBe('a1'));
  it.each([[undefined], [''], ['has space'], ['x'.repeat(129)], ['tab\there'], ['ünïcode']])(
    'replaces %p with a uuid',
    (input) => expect(resolveRequestId(input)).toMatch(/^[0-9a-f-]{36}$/),
  );
  it('accepts exactly 128 chars', () => expect(resolveRequestId('x'.repeat(128))).toHaveLength(128));
});

describe('normaliseIp', () => {
  it('strips the IPv4-mapped prefix', () => expect(normaliseIp('::ffff:10.0.0.1')).toBe('10.0.0.1'));
  it('keeps IPv6', () => expect(normaliseIp('::1')).toBe('::1'));
  it('maps undefined to null', () => expect(normaliseIp(undefined)).toBeNull());
});
