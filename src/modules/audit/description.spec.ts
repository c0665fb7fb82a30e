import { describeEvent } from './description';

describe('describeEvent', () => {
  const base = { outcome: 'success' as const, actorName: 'Ann Lee', actorType: 'user', resourceId: 't1' };

  it('names people and things', () => {
    expect(
      describeEvent({
        ...base,
        action: 'task.updated',
        resourceDisplay: 'Pay rent',
        changes: { status: { from: 'todo', to: 'done' } },
      }),
    ).toBe('Ann Lee changed task “Pay rent” status from todo to done');
    expect(describeEvent({ ...base, action: 'task.created', resourceDisplay: 'Pay rent' })).toBe(
      'Ann Lee created task “Pay rent”',
    );
  });

  it('joins several changes', () => {
    const changes = { status: { from: 'todo', to: 'done' }, priority: { from: 'low', to: 'high' } };
    expect(describeEvent({ ...base, action: 'task.updated', resourceDisplay: 'X', changes })).toBe(
      'Ann Lee changed task “X” status from todo to done and priority from low to high',
    );
  });

  it('describes failures with the reason', () => {
    expect(
      describeEvent({
        ...base,
        outcome: 'failure',
        action: 'task.created',
        resourceDisplay: null,
        statusCode: 400,
        errorMessage: 'title should not be empty',
      }),
    ).toBe('Ann Lee tried to create task t1 but failed: title should not be empty [400]');
  });

  it('describes denials with the route', () => {
    expect(
      describeEvent({
        ...base,
        action: 'access.denied',
        outcome: 'failure',
        resourceDisplay: null,
        resourceId: null,
        httpMethod: 'GET',
        httpPath: '/api/v1/users',
        statusCode: 403,
      }),
    ).toBe('Ann Lee was denied access to GET /api/v1/users [403]');
  });

  it('falls back for anonymous and system actors', () => {
    expect(
      describeEvent({
        ...base,
        actorName: null,
        actorType: 'anonymous',
        action: 'auth.login_failed',
        outcome: 'failure',
        resourceDisplay: null,
        resourceId: null,
      }),
    ).toMatch(/^An anonymous caller tried to log in but failed/);
  });
});
