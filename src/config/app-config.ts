import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  DEV_ADMIN_EMAIL,
  DEV_ADMIN_PASSWORD,
  DEV_AUDIT_SIGNING_KEY,
  DEV_JWT_SECRET,
  durationToSeconds,
  EnvironmentVariables,
  LogLevelName,
  NodeEnv,
} from './env.validation';

/**
 * Typed, read-only view of the validated configuration.
 * The only way application code reads configuration (no process.env outside src/config).
 */
@Injectable()
export class AppConfig {
  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  private get<K extends keyof EnvironmentVariables>(key: K): EnvironmentVariables[K] {
    return this.config.get(key, { infer: true });
  }

  get nodeEnv(): NodeEnv {
    return this.get('NODE_ENV');
  }
  get isProduction(): boolean {
    return this.nodeEnv === NodeEnv.Production;
  }
  get port(): number {
    return this.get('PORT');
  }
  get logLevel(): LogLevelName {
    return this.get('LOG_LEVEL');
  }
  get logFormat(): 'pretty' | 'json' {
    return this.get('LOG_FORMAT') ?? (this.isProduction ? 'json' : 'pretty');
  }
  get databaseUrl(): string | undefined {
    return this.get('DATABASE_URL');
  }
  get embeddedDbDir(): string {
    return this.get('EMBEDDED_DB_DIR');
  }
  get migrationsRun(): boolean {
    return this.get('DB_MIGRATIONS_RUN');
  }
  get dbPoolSize(): number {
    return this.get('DB_POOL_SIZE');
  }
  get jwtSecretIsDefault(): boolean {
    return this.get('JWT_SECRET') === undefined;
  }
  get jwtSecret(): string {
    return this.get('JWT_SECRET') ?? DEV_JWT_SECRET;
  }
  get jwtTtlSeconds(): number {
    return durationToSeconds(this.get('JWT_TTL'));
  }
  get adminEmail(): string {
    return (this.get('ADMIN_EMAIL') ?? DEV_ADMIN_EMAIL).toLowerCase();
  }
  get adminPassword(): string {
    return this.get('ADMIN_PASSWORD') ?? DEV_ADMIN_PASSWORD;
  }
  get trustProxy(): boolean {
    return this.get('TRUST_PROXY');
  }
  get jsonBodyLimit(): string {
    return this.get('JSON_BODY_LIMIT');
  }
  get corsOrigins(): string[] {
    return (this.get('CORS_ORIGINS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  get attachmentMaxBytes(): number {
    return this.get('ATTACHMENT_MAX_BYTES');
  }
  get attachmentAllowedTypes(): string[] {
    return this.get('ATTACHMENT_ALLOWED_TYPES')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
  }
  get attachmentsDir(): string {
    return this.get('ATTACHMENTS_DIR');
  }
  get reminderPollMs(): number {
    return this.get('REMINDER_POLL_MS');
  }
  get reminderSchedulerEnabled(): boolean {
    return this.get('REMINDER_SCHEDULER_ENABLED');
  }
  get auditEnabled(): boolean {
    return this.get('AUDIT_ENABLED');
  }
  get auditFailOpen(): boolean {
    return this.get('AUDIT_FAIL_OPEN');
  }
  get auditSpoolDir(): string {
    return this.get('AUDIT_SPOOL_DIR');
  }
  get auditRedactKeys(): string[] {
    return this.get('AUDIT_REDACT_KEYS')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
  }
  get auditSigningKey(): string {
    return this.get('AUDIT_SIGNING_KEY') ?? DEV_AUDIT_SIGNING_KEY;
  }
  get auditExportMaxRows(): number {
    return this.get('AUDIT_EXPORT_MAX_ROWS');
  }
  get auditExportStallTimeoutMs(): number {
    return this.get('AUDIT_EXPORT_STALL_TIMEOUT_MS');
  }
  get auditCheckpointEvery(): number {
    return this.get('AUDIT_CHECKPOINT_EVERY');
  }
  get auditCheckpointMinutes(): number {
    return this.get('AUDIT_CHECKPOINT_MINUTES');
  }
  get auditSealIntervalMs(): number {
    return this.get('AUDIT_SEAL_INTERVAL_MS');
  }
  get auditRetentionMonths(): number {
    return this.get('AUDIT_RETENTION_MONTHS');
  }
  get auditArchiveDir(): string {
    return this.get('AUDIT_ARCHIVE_DIR');
  }
  get auditIntegrityJobsEnabled(): boolean {
    return this.get('AUDIT_INTEGRITY_JOBS_ENABLED');
  }
  /** Lock wait per attempt and attempts of partition DDL (integrity/ddl-lock.ts). */
  get auditDdlLock(): { timeoutMs: number; attempts: number } {
    return {
      timeoutMs: this.get('AUDIT_DDL_LOCK_TIMEOUT_MS'),
      attempts: this.get('AUDIT_DDL_LOCK_ATTEMPTS'),
    };
  }
  /** `copy` on a PostgreSQL server, `cursor` on the embedded database, unless AUDIT_EXPORT_STRATEGY says. */
  get auditExportStrategy(): 'copy' | 'cursor' {
    const setting = this.get('AUDIT_EXPORT_STRATEGY');
    if (setting !== 'auto') return setting;
    return this.databaseUrl ? 'copy' : 'cursor';
  }
}
