import { Check, Column, Entity, Generated, Index, PrimaryColumn } from 'typeorm';
import type { ActorType } from '../../common/context/request-context';
import type { AuditAction, AuditCategory } from './audit.catalogue';
import type { AuditChanges, AuditOutcome, AuditSeverity } from './audit.types';

/**
 * One audit event. Append-only: a trigger rejects UPDATE, DELETE and TRUNCATE; the hash chain lives in
 * audit_chain (integrity/audit-sealer.service.ts). No foreign keys: the trail outlives what it names.
 * Indexes with DESC ordering or a WHERE clause are declared `synchronize: false`: the migration owns them.
 * The table is range-partitioned by month on occurred_at (migration AuditPartitions), so unique indexes
 * include occurred_at. A trigger queues every inserted event in audit_pending for the sealer.
 */
@Entity({ name: 'audit_logs' })
@Index('audit_logs_seq_uq', ['seq', 'occurredAt'], { unique: true })
@Index('audit_logs_occurred_at_idx', { synchronize: false })
@Index('audit_logs_actor_idx', { synchronize: false })
@Index('audit_logs_resource_idx', { synchronize: false })
@Index('audit_logs_action_idx', { synchronize: false })
@Index('audit_logs_not_success_idx', { synchronize: false })
@Index('audit_logs_request_id_idx', ['requestId'])
// Admin read API (migrations AuditApi, AuditSearchByHour): search (hour + trigrams), resource id alone,
// IP / CIDR.
@Index('audit_logs_search_idx', { synchronize: false })
@Index('audit_logs_resource_id_idx', { synchronize: false })
@Index('audit_logs_ip_idx', { synchronize: false })
// Rare values of severity, actor type and error type (migration AuditRareValueIndexes): partial.
@Index('audit_logs_severity_idx', { synchronize: false })
@Index('audit_logs_actor_type_idx', { synchronize: false })
@Index('audit_logs_error_type_idx', { synchronize: false })
@Check('audit_logs_action_ck', `"action" ~ '^[a-z_]+\\.[a-z_]+$'`)
@Check(
  'audit_logs_category_ck',
  `"category" IN ('auth', 'user', 'task', 'attachment', 'reminder', 'security', 'audit', 'system', 'error')`,
)
@Check('audit_logs_outcome_ck', `"outcome" IN ('success', 'failure', 'error')`)
@Check('audit_logs_severity_ck', `"severity" IN ('info', 'warning', 'error', 'critical')`)
@Check('audit_logs_actor_type_ck', `"actor_type" IN ('user', 'system', 'api_key', 'anonymous')`)
@Check('audit_logs_actor_id_ck', `"actor_id" IS NOT NULL OR "actor_type" IN ('system', 'anonymous')`)
@Check('audit_logs_user_agent_ck', `char_length("user_agent") <= 512`)
@Check('audit_logs_resource_display_ck', `char_length("resource_display") <= 200`)
@Check('audit_logs_error_stack_ck', `octet_length("error_stack") <= 16384`)
export class AuditLogEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'audit_logs_pk' })
  id!: string;

  @PrimaryColumn({ name: 'occurred_at', type: 'timestamptz', primaryKeyConstraintName: 'audit_logs_pk' })
  occurredAt!: Date;

  /** Insert order: ordering and, later, the hash chain. Comes back from `pg` as a string. */
  @Column({ type: 'bigint' })
  @Generated('increment')
  seq!: string;

  @Column({ type: 'text' })
  action!: AuditAction;

  @Column({ type: 'text' })
  category!: AuditCategory;

  @Column({ type: 'text' })
  outcome!: AuditOutcome;

  @Column({ type: 'text' })
  severity!: AuditSeverity;

  @Column({ name: 'actor_type', type: 'text' })
  actorType!: ActorType;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_display', type: 'text', nullable: true })
  actorDisplay!: string | null;

  @Column({ name: 'resource_type', type: 'text', nullable: true })
  resourceType!: string | null;

  @Column({ name: 'resource_id', type: 'text', nullable: true })
  resourceId!: string | null;

  @Column({ name: 'resource_display', type: 'text', nullable: true })
  resourceDisplay!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'http_method', type: 'text', nullable: true })
  httpMethod!: string | null;

  @Column({ name: 'http_path', type: 'text', nullable: true })
  httpPath!: string | null;

  @Column({ name: 'status_code', type: 'int', nullable: true })
  statusCode!: number | null;

  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'ip_address', type: 'inet', nullable: true })
  ipAddress!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  changes!: AuditChanges | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  metadata!: Record<string, unknown>;

  @Column({ type: 'text' })
  description!: string;

  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'error_stack', type: 'text', nullable: true })
  errorStack!: string | null;
}
