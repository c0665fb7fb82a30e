import { BadRequestException } from '@nestjs/common';
import { RejectNulPipe } from './reject-nul.pipe';

describe('RejectNulPipe', () => {
  const pipe = new RejectNulPipe();
  it('passes clean values through', () => {
    expect(pipe.transform({ a: 'x', b: [1, 'y'] }, { type: 'body' })).toEqual({ a: 'x', b: [1, 'y'] });
  });
  it('names the field holding a NUL', () => {
    expect(() => pipe.transform({ a: { b: 'x\u0000' } }, { type: 'body' })).toThrow(BadRequestException);
    try {
      pipe.transform({ a: { b: 'x\u0000' } }, { type: 'body' });
    } catch (e) {
      expect((e as BadRequestException).getResponse()).toMatchObject({
        message: ['a.b must not contain NUL characters'],
      });
    }
    expect(() => pipe.transform('ab\u0000', { type: 'param', data: 'id' })).toThrow('Bad Request');
  });
});
