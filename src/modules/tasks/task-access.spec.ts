import type { Actor } from '../../common/context/request-context';
import { actorUserId, canDeleteTask, canDeleteTaskChild, canEditTask, canViewTask } from './task-access';

const user = (id: string): Actor => ({ type: 'user', id, name: id, role: 'user' });
const admin: Actor = { type: 'user', id: 'admin', name: 'admin', role: 'admin' };
const task = { ownerId: 'owner', assigneeId: 'assignee' };

describe('task access', () => {
  it('owner, assignee and admin see and edit; others do not', () => {
    for (const a of [user('owner'), user('assignee'), admin]) {
      expect(canViewTask(task, a)).toBe(true);
      expect(canEditTask(task, a)).toBe(true);
    }
    expect(canViewTask(task, user('other'))).toBe(false);
    expect(canViewTask({ ownerId: 'owner', assigneeId: null }, user('other'))).toBe(false);
  });

  it('only owner and admin delete a task', () => {
    expect(canDeleteTask(task, user('owner'))).toBe(true);
    expect(canDeleteTask(task, admin)).toBe(true);
    expect(canDeleteTask(task, user('assignee'))).toBe(false);
  });

  it('creator, task owner and admin delete a child', () => {
    expect(canDeleteTaskChild(task, 'assignee', user('assignee'))).toBe(true);
    expect(canDeleteTaskChild(task, 'assignee', user('owner'))).toBe(true);
    expect(canDeleteTaskChild(task, 'owner', admin)).toBe(true);
    expect(canDeleteTaskChild(task, 'owner', user('assignee'))).toBe(false);
  });

  it('refuses an actor without a user id', () => {
    expect(() => actorUserId({ type: 'anonymous', id: null, name: null })).toThrow('Authentication required');
    expect(actorUserId(user('u1'))).toBe('u1');
  });
});
