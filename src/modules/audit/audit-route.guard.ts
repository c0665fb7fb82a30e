import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { AUDITED_KEY, AuditedOptions, NO_AUDIT_KEY } from './audited.decorator';

export const AUDIT_ROUTE_KEY = 'audit:route';

/**
 * Never blocks. Runs before the auth guards and remembers the route's @Audited options, so that a
 * guard's refusal can be recorded as access.denied with what was attempted.
 */
@Injectable()
export class AuditRouteGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || !this.cls.isActive()) return true;
    if (
      this.reflector.getAllAndOverride<boolean | undefined>(NO_AUDIT_KEY, [
        context.getHandler(),
        context.getClass(),
      ])
    )
      return true;
    const audited = this.reflector.get<AuditedOptions | undefined>(AUDITED_KEY, context.getHandler());
    if (audited) this.cls.set(AUDIT_ROUTE_KEY, audited);
    return true;
  }
}
