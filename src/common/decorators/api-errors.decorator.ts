import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: the message names each bad field',
  401: 'Missing, invalid, expired or revoked credentials',
  403: 'Authenticated, but not allowed',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflicts with existing data',
  413: 'Body or upload too large',
  415: 'Unsupported media type',
  422: 'Valid input that cannot be processed',
  429: 'Too many requests',
  503: 'A dependency (the database) is unavailable',
};

/** Documents error responses with the standard error body. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponseDto }),
    ),
  );
}
