import { escapeLike } from './escape-like';

describe('escapeLike', () => {
  it('escapes wildcards and backslashes', () => {
    expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now');
  });
  it('leaves plain text alone', () => expect(escapeLike('Plain text')).toBe('Plain text'));
});
