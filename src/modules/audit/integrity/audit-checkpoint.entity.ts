import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/**
 * A signed checkpoint of the hash chain: HMAC-SHA256 under AUDIT_SIGNING_KEY over
 * canonicalCheckpoint() (which includes the previous checkpoint's signature). Append-only (trigger).
 */
@Entity({ name: 'audit_checkpoints' })
@Unique('audit_checkpoints_last_pos_uq', ['lastPos'])
@Unique('audit_checkpoints_previous_uq', ['previousId'])
export class AuditCheckpointEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'audit_checkpoints_pk' })
  id!: string;

  @Column({ name: 'last_pos', type: 'bigint' })
  lastPos!: string;

  @Column({ name: 'last_seq', type: 'bigint' })
  lastSeq!: string;

  @Column({ name: 'last_hash', type: 'bytea' })
  lastHash!: Buffer;

  /** Events chained since the previous checkpoint. */
  @Column({ name: 'event_count', type: 'bigint' })
  eventCount!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'previous_id', type: 'uuid', nullable: true })
  previousId!: string | null;

  @Column({ type: 'bytea' })
  signature!: Buffer;
}
