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
import { AuditIntegrityController } from './integrity/audit-integrity.controller';
import { AuditIntegrityJobs } from './integrity/audit-integrity-jobs.service';
import { AuditRetention } from './integrity/audit-retention.service';
import { AuditSealer } from './integrity/audit-sealer.service';
import { AuditVerifier } from './integrity/audit-verifier.service';
import { AuditClock } from './integrity/clock';
import { PartitionManager } from './integrity/partition-manager.service';
import { AuditStatistics } from './integrity/audit-statistics.service';

/**
 * The audit trail. Imports no feature module; feature modules import it and get AuditService.
 * Registers the global interceptor (transaction + capture) and the global exception filter.
 * integrity/: hash-chain sealer, checkpoints, verifier, monthly partitions and retention.
 */
@Module({
  imports: [DiscoveryModule],
  // AuditQueryController owns GET /audit-logs/:id: a controller with other GET /audit-logs/<static>
  // routes (/audit-logs/verify) must be listed BEFORE it, or `:id` shadows them.
  controllers: [AuditIntegrityController, AuditQueryController],
  providers: [
    AuditQueryService,
    AuditClock,
    AuditSealer,
    AuditVerifier,
    PartitionManager,
    AuditStatistics,
    AuditRetention,
    AuditIntegrityJobs,
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
  exports: [AuditService, AuditVerifier],
})
export class AuditModule {}
