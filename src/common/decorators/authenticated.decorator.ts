import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors } from './api-errors.decorator';

export const ROLES_KEY = 'auth:roles';
export const SCOPES_KEY = 'auth:scopes';

export interface AuthenticatedOptions {
  /** Roles allowed (any of). Omitted: any authenticated user. */
  roles?: ('admin' | 'user')[];
  /** API-key scopes that also grant access (any of). Omitted: API keys are refused. */
  scopes?: string[];
}

/**
 * The one decorator for protected routes: sets the guard metadata and the Swagger security and
 * error responses together, so they cannot drift apart.
 */
export function Authenticated(options: AuthenticatedOptions = {}): MethodDecorator & ClassDecorator {
  const decorators = [
    SetMetadata(ROLES_KEY, options.roles ?? []),
    SetMetadata(SCOPES_KEY, options.scopes ?? []),
    ApiBearerAuth(),
  ];
  if (options.scopes?.length) decorators.push(ApiSecurity('api-key'));
  decorators.push(options.roles?.length || options.scopes?.length ? ApiErrors(401, 403) : ApiErrors(401));
  return applyDecorators(...decorators);
}
