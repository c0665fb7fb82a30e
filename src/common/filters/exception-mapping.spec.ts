import { BadRequestException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../errors/domain-error';
import { isInfrastructureError, mapException } from './exception-mapping';

describe('mapException', () => {
  it('maps domain errors by code', () => {
    expect(mapException(new NotFoundError('Task', 'x'))).toMatchObject({
      statusCode: 404,
      error: 'Not Found',
      message: 'Task x was not found',
      errorType: 'NotFoundError',
    });
    expect(mapException(new ConflictError('dup'))).toMatchObject({ statusCode: 409, error: 'Conflict' });
  });

  it('keeps validation messages as a list', () => {
    const m = mapException(new BadRequestException(['title should not be empty', 'priority must be one of']));
    expect(m).toMatchObject({
      statusCode: 400,
      message: ['title should not be empty', 'priority must be one of'],
    });
  });

  it('maps Nest HTTP exceptions', () => {
    expect(mapException(new NotFoundException('Cannot GET /nope'))).toMatchObject({
      statusCode: 404,
      message: 'Cannot GET /nope',
    });
    expect(mapException(new PayloadTooLargeException('File too large'))).toMatchObject({ statusCode: 413 });
  });

  it('maps body-parser errors', () => {
    const parse = Object.assign(new SyntaxError('Unexpected token'), {
      type: 'entity.parse.failed',
      status: 400,
    });
    expect(mapException(parse)).toMatchObject({ statusCode: 400, message: 'Malformed JSON body' });
    const big = Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 });
    expect(mapException(big)).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('hides the detail of unknown errors', () => {
    expect(mapException(new TypeError('secret detail'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      errorType: 'TypeError',
      infrastructure: false,
    });
  });

  it('treats a lost database as infrastructure (503)', () => {
    const e = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(isInfrastructureError(e)).toBe(true);
    expect(mapException(e)).toMatchObject({
      statusCode: 503,
      infrastructure: true,
      message: 'Service temporarily unavailable',
    });
    expect(isInfrastructureError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });
});
