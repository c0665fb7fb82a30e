import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Actor } from '../../common/context/request-context';
import { ForbiddenError, NotFoundError, ValidationFailedError } from '../../common/errors/domain-error';
import type { Tx } from '../../database/transaction';
import { actorUserId, canDeleteTaskChild } from '../tasks/task-access';
import { AuditService } from '../audit/audit.service';
import { createdChanges, deletedChanges } from '../audit/changes';
import { TasksService } from '../tasks/tasks.service';
import { CreateReminderDto } from './dto/reminder.dto';
import { ReminderEntity } from './reminder.entity';

/** The reminder fields the audit trail records. */
export const AUDITED_REMINDER_FIELDS = ['taskId', 'remindAt', 'note'] as const;

@Injectable()
export class RemindersService {
  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly tasks: TasksService,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.txHost.tx.getRepository(ReminderEntity);
  }

  /** Adds a reminder to a task the caller can see. */
  async create(taskId: string, dto: CreateReminderDto, actor: Actor): Promise<ReminderEntity> {
    await this.tasks.getVisible(taskId, actor);
    const remindAt = new Date(dto.remindAt);
    if (!(remindAt.getTime() > Date.now())) throw new ValidationFailedError('remindAt must be in the future');
    const saved = await this.repo.save(
      this.repo.create({
        taskId,
        remindAt,
        note: dto.note ?? null,
        sentAt: null,
        createdBy: actorUserId(actor),
      }),
    );
    this.audit.setResource('reminder', saved.id, saved.note ? saved.note.slice(0, 200) : null);
    this.audit.setChanges(createdChanges(saved, AUDITED_REMINDER_FIELDS));
    return saved;
  }

  /** A task's reminders, soonest first. */
  async listForTask(taskId: string, actor: Actor): Promise<ReminderEntity[]> {
    await this.tasks.getVisible(taskId, actor);
    return this.repo.find({ where: { taskId }, order: { remindAt: 'ASC', id: 'ASC' } });
  }

  /** Deletes a reminder (its creator, the task owner or an admin). */
  async remove(id: string, actor: Actor): Promise<ReminderEntity> {
    const reminder = await this.repo.findOneBy({ id });
    if (!reminder) throw new NotFoundError('Reminder', id);
    const task = await this.tasks.getVisible(reminder.taskId, actor).catch((e: unknown) => {
      // Not the task's 404: that would reveal which task the reminder belongs to.
      throw e instanceof NotFoundError ? new NotFoundError('Reminder', id) : e;
    });
    this.audit.setResource('reminder', reminder.id, reminder.note ? reminder.note.slice(0, 200) : null);
    if (!canDeleteTaskChild(task, reminder.createdBy, actor)) {
      throw new ForbiddenError('Only the creator, the task owner or an admin may delete a reminder');
    }
    await this.repo.delete({ id });
    this.audit.setChanges(deletedChanges(reminder, AUDITED_REMINDER_FIELDS));
    return reminder;
  }
}
