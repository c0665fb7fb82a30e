import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { AuditCapture } from './audit-capture.service';
import { AuditEventFactory } from './audit-event.factory';
import { AuditExceptionFilter } from './audit-exception.filter';
import { AuditInterceptor } from './audit.interceptor';
import { AuditLifecycle } from './audit-lifecycle.service';
import { AuditRouteGuard } from './audit-route.guard';
import { AuditService } from './audit.service';
import { AuditSpool } from './audit-spool';
import { AuditWriter } from './audit-writer';
import { AuditQueryController } from './query/audit-query.controller';
import { AuditQueryService } from './query/audit-query.service';

/**
 * The audit trail. Imports no feature module; feature modules import it and get AuditService.
 * Registers the global interceptor (transaction + capture) and the global exception filter.
 */
@Module({
  imports: [DiscoveryModule],
  // AuditQueryController owns GET /audit-logs/:id: a controller with other GET /audit-logs/<static>
  // routes (e.g. /audit-logs/verify) must be listed BEFORE it, or `:id` shadows them.
  controllers: [AuditQueryController],
  providers: [
    AuditQueryService,
    AuditService,
    AuditCapture,
    AuditEventFactory,
    AuditWriter,
    AuditSpool,
    AuditLifecycle,
    { provide: APP_GUARD, useClass: AuditRouteGuard },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
    { provide: APP_FILTER, useClass: AuditExceptionFilter },
  ],
  exports: [AuditService],
})
export class AuditModule {}
