import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { TaskEntity } from '../tasks/task.entity';

/** `bigint` comes back from `pg` as a string: sizes are well within Number.MAX_SAFE_INTEGER. */
const bigintAsNumber = {
  to: (value: number): number => value,
  from: (value: string | number): number => Number(value),
};

@Entity({ name: 'attachments' })
@Index('attachments_task_id_idx', ['taskId', 'createdAt'])
@Check('attachments_size_ck', `"size" > 0`)
@Check('attachments_sha256_ck', `"sha256" ~ '^[0-9a-f]{64}$'`)
@Check('attachments_filename_ck', `char_length("filename") BETWEEN 1 AND 255`)
export class AttachmentEntity {
  /** Also names the stored file; the service assigns it before the upload is moved into place. */
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'attachments_pk' })
  id!: string;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'attachments_task_id_fk' })
  task?: TaskEntity;

  @Column({ type: 'text' })
  filename!: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType!: string;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  size!: number;

  @Column({ type: 'text' })
  sha256!: string;

  /** The uploader's user id (kept when the user is deleted: no foreign key). */
  @Column({ name: 'uploaded_by', type: 'uuid' })
  uploadedBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
