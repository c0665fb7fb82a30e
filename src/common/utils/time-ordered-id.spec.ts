import { timeOrderedId } from './time-ordered-id';

describe('timeOrderedId', () => {
  it('is a UUIDv7 whose first 48 bits are the time of its creation in ms', () => {
    const before = Date.now();
    const id = timeOrderedId();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('ids made one after another sort in the order they were made, and never repeat', () => {
    const ids = Array.from({ length: 10_000 }, () => timeOrderedId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('timeOrderedId: pooled random bytes', () => {
  it('ids of one millisecond count up, across refills of the pool, and their random tails differ', () => {
    // More ids than the pool holds (256), made as fast as possible: many share a millisecond.
    const ids = Array.from({ length: 3_000 }, () => timeOrderedId());
    const ms = ids.map((id) => id.slice(0, 13));
    expect(new Set(ms).size).toBeLessThan(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const tails = ids.map((id) => id.slice(-12));
    expect(new Set(tails).size).toBe(ids.length);
  });
});
