import type { Actor } from '../../common/context/request-context';
import { UnauthenticatedError } from '../../common/errors/domain-error';

/** The fields access decisions look at. */
export interface TaskParties {
  ownerId: string;
  assigneeId: string | null;
}

export const isAdmin = (actor: Actor): boolean => actor.role === 'admin';

/** The caller's user id; services for user routes need one. */
export function actorUserId(actor: Actor): string {
  if (actor.type !== 'user' || !actor.id) throw new UnauthenticatedError();
  return actor.id;
}

/** Owner, assignee or admin. Everyone else must not learn the task exists (404). */
export function canViewTask(task: TaskParties, actor: Actor): boolean {
  return isAdmin(actor) || (actor.id !== null && (task.ownerId === actor.id || task.assigneeId === actor.id));
}

/** Same people as can see it: owner, assignee, admin. */
export const canEditTask = canViewTask;

/** Owner or admin (the assignee may not). */
export function canDeleteTask(task: TaskParties, actor: Actor): boolean {
  return isAdmin(actor) || (actor.id !== null && task.ownerId === actor.id);
}

/**
 * Attachments and reminders: their creator (uploader), the task owner or an admin may delete them.
 * Callers check visibility of the task first.
 */
export function canDeleteTaskChild(task: TaskParties, createdBy: string, actor: Actor): boolean {
  return canDeleteTask(task, actor) || (actor.id !== null && createdBy === actor.id);
}
