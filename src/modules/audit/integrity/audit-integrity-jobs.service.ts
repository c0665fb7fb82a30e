import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { AuditRetention } from './audit-retention.service';
import { AuditSealer } from './audit-sealer.service';
import { AuditStatistics } from './audit-statistics.service';
import { PartitionManager } from './partition-manager.service';

const DAY_MS = 24 * 60 * 60 * 1000;
const FIRST_DAILY_RUN_MS = 60_000;
/** How often the partitions' statistics are checked for staleness (AuditStatistics). */
export const STATISTICS_INTERVAL_MS = 60_000;

/** One run of a job at a time: a call while one is in flight gets that run instead of a second one. */
class SingleFlight {
  private current?: Promise<unknown>;

  run(job: () => Promise<unknown>): Promise<unknown> {
    this.current ??= job().finally(() => (this.current = undefined));
    return this.current;
  }

  /** The run in flight, if any. */
  get pending(): Promise<unknown> | undefined {
    return this.current;
  }
}

/**
 * Timers of the integrity jobs (AUDIT_INTEGRITY_JOBS_ENABLED): the sealer every AUDIT_SEAL_INTERVAL_MS,
 * the partitions' statistics every STATISTICS_INTERVAL_MS, partitions + retention daily. Partitions
 * are also ensured at start-up, jobs or not. Each job runs one at a time per process; across processes
 * the advisory locks serialise them.
 */
@Injectable()
export class AuditIntegrityJobs implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditIntegrity');
  private timers: NodeJS.Timeout[] = [];
  private readonly sealing = new SingleFlight();
  private readonly daily = new SingleFlight();
  private readonly analyzing = new SingleFlight();

  constructor(
    private readonly config: AppConfig,
    private readonly sealer: AuditSealer,
    private readonly partitions: PartitionManager,
    private readonly retention: AuditRetention,
    private readonly statistics: AuditStatistics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      // One attempt: start-up does not wait for a long reader on another instance (its DDL would wait
      // AUDIT_DDL_LOCK_ATTEMPTS times); the daily run, a minute later, tries again with every attempt.
      // Partitions are made two months ahead, so only a first start or a long outage needs one here.
      await this.partitions.ensure(undefined, 1);
    } catch (e) {
      this.logger.error('Could not create audit partitions', e instanceof Error ? e.stack : String(e));
    }
    if (!this.config.auditIntegrityJobsEnabled) return;
    this.every(this.config.auditSealIntervalMs, () => void this.seal());
    this.every(STATISTICS_INTERVAL_MS, () => this.analyze());
    const first = setTimeout(() => this.runDaily(), FIRST_DAILY_RUN_MS);
    first.unref();
    this.timers.push(first);
    this.every(DAY_MS, () => this.runDaily());
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.allSettled([this.sealing.pending, this.daily.pending, this.analyzing.pending]);
    if (this.config.auditIntegrityJobsEnabled) await this.seal();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private seal(): Promise<unknown> {
    return this.sealing.run(() =>
      this.sealer
        .sealOnce()
        .catch((e: unknown) =>
          this.logger.warn(`Sealing failed, will retry: ${e instanceof Error ? e.message : String(e)}`),
        ),
    );
  }

  private analyze(): void {
    void this.analyzing.run(() =>
      this.statistics
        .refresh()
        .catch((e: unknown) =>
          this.logger.warn(`Statistics refresh failed: ${e instanceof Error ? e.message : String(e)}`),
        ),
    );
  }

  private runDaily(): void {
    void this.daily.run(() =>
      this.retention
        .apply()
        .catch((e: unknown) =>
          this.logger.error(
            'Partition maintenance / retention failed',
            e instanceof Error ? e.stack : String(e),
          ),
        ),
    );
  }
}
