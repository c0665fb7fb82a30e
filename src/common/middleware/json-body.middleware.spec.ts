import { jsonDepth, MAX_JSON_DEPTH } from './json-body.middleware';

describe('jsonDepth', () => {
  it('measures nesting', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
  });
  it('stops early on hostile depth without recursion', () => {
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    expect(jsonDepth(v)).toBe(MAX_JSON_DEPTH + 1);
  });
});
