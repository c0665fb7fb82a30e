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
import { UserEntity } from '../users/user.entity';

export const NOTIFICATION_KINDS = ['reminder'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * An in-app notification. `task_id` and `reminder_id` have no foreign keys on purpose: a delivered
 * notification stays in the recipient's inbox after its task is deleted.
 */
@Entity({ name: 'notifications' })
@Index('notifications_user_id_idx', ['userId', 'createdAt'])
@Index('notifications_reminder_id_uq', ['reminderId'], { unique: true })
@Check('notifications_kind_ck', `"kind" IN ('reminder')`)
export class NotificationEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'notifications_pk' })
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'notifications_user_id_fk' })
  user?: UserEntity;

  @Column({ type: 'text' })
  kind!: NotificationKind;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId!: string;

  @Column({ name: 'reminder_id', type: 'uuid' })
  reminderId!: string;

  @Column({ type: 'text' })
  title!: string;

  @Column({ type: 'text' })
  body!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'read_at', type: 'timestamptz', nullable: true })
  readAt!: Date | null;
}
