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

@Entity({ name: 'reminders' })
@Index('reminders_task_id_idx', ['taskId', 'remindAt'])
@Index('reminders_due_idx', ['remindAt'], { where: '"sent_at" IS NULL' })
@Check('reminders_note_ck', `char_length("note") <= 500`)
export class ReminderEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'reminders_pk' })
  id!: string;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'reminders_task_id_fk' })
  task?: TaskEntity;

  @Column({ name: 'remind_at', type: 'timestamptz' })
  remindAt!: Date;

  @Column({ type: 'text', nullable: true })
  note!: string | null;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  /** The creator's user id (kept when the user is deleted: no foreign key). */
  @Column({ name: 'created_by', type: 'uuid' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
