import { ApiProperty } from '@nestjs/swagger';

/** The one error body every failure uses. */
export class ErrorResponseDto {
  @ApiProperty({ description: 'Equals the HTTP status code', example: 400 })
  statusCode!: number;

  @ApiProperty({ description: 'HTTP reason phrase', example: 'Bad Request' })
  error!: string;

  @ApiProperty({
    description: 'What went wrong: a sentence, or one message per invalid field',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['email must be an email'],
  })
  message!: string | string[];

  @ApiProperty({
    description: 'The request id (also in the X-Request-Id header)',
    example: '6f1c2b1e-9a34-4c47-b1d2-2f7f0d1f8a10',
  })
  requestId!: string;
}
