import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/**
 * One archived and dropped monthly partition: the manifest, kept in the database so `verify` can
 * anchor the live chain on the archived events (`exits`: chain position → hash of every archived
 * event whose successor in the chain is not in the same archive). Append-only (trigger).
 */
@Entity({ name: 'audit_archives' })
@Unique('audit_archives_partition_uq', ['partitionName'])
export class AuditArchiveEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'audit_archives_pk' })
  id!: string;

  @Column({ name: 'partition_name', type: 'text' })
  partitionName!: string;

  @Column({ name: 'range_from', type: 'timestamptz' })
  rangeFrom!: Date;

  @Column({ name: 'range_to', type: 'timestamptz' })
  rangeTo!: Date;

  @Column({ name: 'file_name', type: 'text' })
  fileName!: string;

  @Column({ name: 'file_sha256', type: 'text' })
  fileSha256!: string;

  @Column({ name: 'row_count', type: 'bigint' })
  rowCount!: string;

  @Column({ name: 'first_pos', type: 'bigint', nullable: true })
  firstPos!: string | null;

  @Column({ name: 'last_pos', type: 'bigint', nullable: true })
  lastPos!: string | null;

  @Column({ name: 'first_seq', type: 'bigint', nullable: true })
  firstSeq!: string | null;

  @Column({ name: 'last_seq', type: 'bigint', nullable: true })
  lastSeq!: string | null;

  @Column({ name: 'first_hash', type: 'bytea', nullable: true })
  firstHash!: Buffer | null;

  @Column({ name: 'last_hash', type: 'bytea', nullable: true })
  lastHash!: Buffer | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  exits!: Record<string, string>;

  @Column({ name: 'checkpoint_id', type: 'uuid', nullable: true })
  checkpointId!: string | null;

  @Column({ type: 'jsonb' })
  manifest!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
