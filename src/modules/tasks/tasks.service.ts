import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Actor } from '../../common/context/request-context';
import type { Page } from '../../common/dto/pagination.dto';
import { ForbiddenError, NotFoundError, ValidationFailedError } from '../../common/errors/domain-error';
import { escapeLike } from '../../common/utils/escape-like';
import type { Tx } from '../../database/transaction';
import { AuditService } from '../audit/audit.service';
import { createdChanges, deletedChanges, diffChanges } from '../audit/changes';
import { UsersService } from '../users/users.service';
import { CreateTaskDto, ListTasksQueryDto, UpdateTaskDto } from './dto/task.dto';
import { actorUserId, canDeleteTask, canEditTask, canViewTask, isAdmin } from './task-access';
import { TaskEntity } from './task.entity';

/** The task fields the audit trail records. */
export const AUDITED_TASK_FIELDS = [
  'title',
  'description',
  'status',
  'priority',
  'dueAt',
  'ownerId',
  'assigneeId',
] as const;

/** Runs inside the deleting transaction, before the task row goes (e.g. to schedule file removal). */
export type TaskDeletionHook = (task: TaskEntity) => Promise<void>;

@Injectable()
export class TasksService {
  private readonly deletionHooks: TaskDeletionHook[] = [];

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.txHost.tx.getRepository(TaskEntity);
  }

  /** Lets modules that hang data off a task (attachments) act when a task is deleted. */
  onTaskDeletion(hook: TaskDeletionHook): void {
    this.deletionHooks.push(hook);
  }

  async create(dto: CreateTaskDto, actor: Actor): Promise<TaskEntity> {
    const ownerId = actorUserId(actor);
    if (dto.assigneeId) await this.assertActiveAssignee(dto.assigneeId);
    const task = this.repo.create({
      title: dto.title,
      description: dto.description ?? null,
      status: dto.status ?? 'todo',
      priority: dto.priority ?? 'medium',
      dueAt: dto.dueAt ? new Date(dto.dueAt) : null,
      ownerId,
      assigneeId: dto.assigneeId ?? null,
    });
    const saved = await this.repo.save(task);
    this.audit.setResource('task', saved.id, saved.title);
    this.audit.setChanges(createdChanges(saved, AUDITED_TASK_FIELDS));
    return saved;
  }

  /** Newest first. Users see tasks they own or are assigned to; admins see all. */
  async list(query: ListTasksQueryDto, actor: Actor): Promise<Page<TaskEntity>> {
    const qb = this.repo.createQueryBuilder('t');
    if (!isAdmin(actor)) {
      qb.andWhere('(t.owner_id = :me OR t.assignee_id = :me)', { me: actorUserId(actor) });
    }
    if (query.status) qb.andWhere('t.status = :status', { status: query.status });
    if (query.assigneeId) qb.andWhere('t.assignee_id = :assigneeId', { assigneeId: query.assigneeId });
    if (query.q) qb.andWhere(`t.title ILIKE :q ESCAPE '\\'`, { q: `%${escapeLike(query.q)}%` });
    const [items, total] = await qb
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .limit(query.limit)
      .offset(query.offset)
      .getManyAndCount();
    return { items, total, limit: query.limit, offset: query.offset };
  }

  /** The task, if the caller may see it; otherwise 404 (whether or not it exists). */
  async getVisible(id: string, actor: Actor): Promise<TaskEntity> {
    const task = await this.repo.findOneBy({ id });
    if (!task || !canViewTask(task, actor)) throw new NotFoundError('Task', id);
    return task;
  }

  /** Applies a partial update. Returns plain snapshots before and after (equal when nothing changed). */
  async update(
    id: string,
    dto: UpdateTaskDto,
    actor: Actor,
  ): Promise<{ before: TaskEntity; after: TaskEntity }> {
    const task = await this.getVisible(id, actor);
    this.audit.setResource('task', task.id, task.title);
    if (!canEditTask(task, actor))
      throw new ForbiddenError('Only the owner, the assignee or an admin may edit a task');
    const before = { ...task };
    if (dto.assigneeId && dto.assigneeId !== task.assigneeId) await this.assertActiveAssignee(dto.assigneeId);
    if (dto.title !== undefined) task.title = dto.title;
    if (dto.description !== undefined) task.description = dto.description;
    if (dto.status !== undefined) task.status = dto.status;
    if (dto.priority !== undefined) task.priority = dto.priority;
    if (dto.dueAt !== undefined) task.dueAt = dto.dueAt === null ? null : new Date(dto.dueAt);
    if (dto.assigneeId !== undefined) task.assigneeId = dto.assigneeId;
    const changes = diffChanges(before, task, AUDITED_TASK_FIELDS);
    if (Object.keys(changes).length === 0) {
      this.audit.skip();
      return { before, after: { ...task } };
    }
    // The changed columns only, in one UPDATE: save() would SELECT the row again to diff it (one more
    // round trip per PATCH) and would write back any column that differs from that fresh read, i.e.
    // revert a concurrent change to a field this request did not touch.
    const set: Partial<TaskEntity> = {};
    const copy = <K extends keyof TaskEntity>(field: K): void => {
      set[field] = task[field];
    };
    for (const field of AUDITED_TASK_FIELDS) if (field in changes) copy(field);
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set(set)
      .where('id = :id', { id: task.id })
      .returning('updated_at')
      .execute();
    const [row] = result.raw as { updated_at: Date }[];
    task.updatedAt = row.updated_at;
    this.audit.setResource('task', task.id, task.title);
    this.audit.setChanges(changes);
    return { before, after: { ...task } };
  }

  /** Deletes the task; its attachments and reminders go with it (foreign keys cascade). */
  async remove(id: string, actor: Actor): Promise<TaskEntity> {
    const task = await this.getVisible(id, actor);
    this.audit.setResource('task', task.id, task.title);
    if (!canDeleteTask(task, actor)) throw new ForbiddenError('Only the owner or an admin may delete a task');
    for (const hook of this.deletionHooks) await hook(task);
    await this.repo.delete({ id });
    this.audit.setChanges(deletedChanges(task, AUDITED_TASK_FIELDS));
    return task;
  }

  private async assertActiveAssignee(userId: string): Promise<void> {
    const user = await this.users.get(userId).catch((e: unknown) => {
      if (e instanceof NotFoundError) return null;
      throw e;
    });
    if (!user?.isActive) throw new ValidationFailedError('assigneeId must be the id of an active user');
  }
}
