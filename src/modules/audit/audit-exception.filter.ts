import { Catch } from '@nestjs/common';
import type { Request } from 'express';
import { ClsService } from 'nestjs-cls';
import type { RequestContextStore } from '../../common/context/request-context';
import { AllExceptionsFilter } from '../../common/filters/all-exceptions.filter';
import type { MappedException } from '../../common/filters/exception-mapping';
import { AuditCapture } from './audit-capture.service';
import { AUDIT_ROUTE_KEY } from './audit-route.guard';
import type { AuditedOptions } from './audited.decorator';

/**
 * Global: records what the interceptor cannot see (guard denials → access.denied, unhandled errors
 * → error.unhandled), then answers with the standard error shape.
 */
@Catch()
export class AuditExceptionFilter extends AllExceptionsFilter {
  constructor(
    cls: ClsService<RequestContextStore>,
    private readonly capture: AuditCapture,
  ) {
    super(cls);
  }

  protected override async record(exception: unknown, mapped: MappedException, req: Request): Promise<void> {
    const cls = this.cls as unknown as ClsService;
    const attempted = cls.isActive() ? cls.get<AuditedOptions | undefined>(AUDIT_ROUTE_KEY) : undefined;
    await this.capture.writeUnrecorded(
      exception,
      mapped,
      attempted,
      req.params as Record<string, string> | undefined,
    );
  }
}
