import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import type { RequestContextStore } from '../../common/context/request-context';
import { ROLES_KEY, SCOPES_KEY } from '../../common/decorators/authenticated.decorator';
import { IS_PUBLIC_KEY } from '../../common/decorators/public.decorator';
import { ForbiddenError } from '../../common/errors/domain-error';

/** Global authorization guard (runs after AuthGuard): roles for users, scopes for API keys. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService<RequestContextStore>,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets) ?? [];
    const scopes = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES_KEY, targets) ?? [];
    const actor = this.cls.get('actor');
    if (actor?.type === 'api_key') {
      if (scopes.length > 0 && scopes.some((s) => actor.scopes?.includes(s))) return true;
      throw new ForbiddenError('This API key is not allowed to call this route');
    }
    if (actor?.type !== 'user') throw new ForbiddenError();
    if (roles.length === 0 || (actor.role !== undefined && roles.includes(actor.role))) return true;
    throw new ForbiddenError();
  }
}
