import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { TransactionRunner } from '../../database/transaction-runner';
import type { Tx } from '../../database/transaction';
import { NOTIFIER, type Notifier } from '../notifications/notifier';
import { TaskEntity } from '../tasks/task.entity';
import { ReminderEntity } from './reminder.entity';

export interface Delivery {
  before: ReminderEntity;
  after: ReminderEntity;
  recipientId: string;
}

/**
 * Sends due reminders. Each run claims a batch of due, unsent reminders with
 * `SELECT … FOR UPDATE SKIP LOCKED` in one transaction, delivers each (notification + `sent_at`) and
 * commits: with several app instances, each reminder is claimed, and so sent, exactly once.
 */
@Injectable()
export class ReminderDispatcher {
  private readonly logger = new Logger(ReminderDispatcher.name);

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    @Inject(NOTIFIER) private readonly notifier: Notifier,
    private readonly audit: AuditService,
  ) {}

  /** Delivers up to `batchSize` due reminders; returns how many were delivered. */
  dispatchDue(batchSize = 100): Promise<number> {
    return this.transactions.run(async () => {
      const due = await this.claimDue(batchSize);
      let delivered = 0;
      for (const reminder of due) {
        // A savepoint per reminder: one failure must not undo the others' deliveries.
        await this.txHost.tx.query('SAVEPOINT reminder_delivery');
        try {
          await this.deliver(reminder);
          await this.txHost.tx.query('RELEASE SAVEPOINT reminder_delivery');
          delivered++;
        } catch (e) {
          await this.txHost.tx.query('ROLLBACK TO SAVEPOINT reminder_delivery');
          this.logger.error(
            `Delivering reminder ${reminder.id} failed; it stays due`,
            e instanceof Error ? e.stack : String(e),
          );
        }
      }
      return delivered;
    });
  }

  /**
   * Delivers one claimed reminder inside the dispatch transaction: notifies the task's assignee (or its
   * owner when unassigned) and marks the reminder sent.
   */
  async deliver(reminder: ReminderEntity): Promise<Delivery> {
    const task =
      reminder.task ??
      (await this.txHost.tx.getRepository(TaskEntity).findOneByOrFail({ id: reminder.taskId }));
    const recipientId = task.assigneeId ?? task.ownerId;
    const before: ReminderEntity = { ...reminder, task: undefined };
    await this.notifier.notify({
      kind: 'reminder',
      userId: recipientId,
      taskId: task.id,
      reminderId: reminder.id,
      title: `Reminder: ${task.title}`,
      body: reminder.note ?? (task.dueAt ? `Due ${task.dueAt.toISOString()}` : `Task “${task.title}”`),
    });
    const sentAt = new Date();
    await this.txHost.tx.getRepository(ReminderEntity).update({ id: reminder.id }, { sentAt });
    // In the same transaction (and savepoint) as the delivery: sent if and only if recorded.
    await this.audit.record({
      action: 'reminder.sent',
      actor: { type: 'system', id: null, name: 'Reminder scheduler' },
      resource: {
        type: 'reminder',
        id: reminder.id,
        display: reminder.note ? reminder.note.slice(0, 200) : `Reminder for “${task.title}”`,
      },
      changes: { sentAt: { from: null, to: sentAt.toISOString() } },
      metadata: {
        taskId: task.id,
        taskTitle: task.title,
        recipientId,
        remindAt: reminder.remindAt.toISOString(),
      },
    });
    return { before, after: { ...before, sentAt }, recipientId };
  }

  /** Locks due, unsent reminders no other transaction holds; oldest due first. */
  private async claimDue(batchSize: number): Promise<ReminderEntity[]> {
    const rows = await this.txHost.tx.query<{ id: string }[]>(
      `SELECT id FROM reminders
        WHERE sent_at IS NULL AND remind_at <= now()
        ORDER BY remind_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) return [];
    return this.txHost.tx.getRepository(ReminderEntity).find({
      where: { id: In(rows.map((r) => r.id)) },
      relations: { task: true },
      order: { remindAt: 'ASC', id: 'ASC' },
    });
  }
}
