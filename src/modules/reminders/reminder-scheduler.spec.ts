import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AppConfig } from '../../config/app-config';
import type { ReminderDispatcher } from './reminder-dispatcher';
import { REMINDER_INTERVAL_NAME, ReminderScheduler } from './reminder-scheduler';

function setup(enabled: boolean, dispatchDue: () => Promise<number>) {
  const config = { reminderSchedulerEnabled: enabled, reminderPollMs: 60_000 } as AppConfig;
  const registry = new SchedulerRegistry();
  const dispatcher = { dispatchDue: jest.fn(dispatchDue) };
  const scheduler = new ReminderScheduler(config, registry, dispatcher as unknown as ReminderDispatcher);
  return { scheduler, registry, dispatcher };
}

describe('ReminderScheduler', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  it('registers its interval only when enabled, and removes it on shutdown', async () => {
    const off = setup(false, () => Promise.resolve(0));
    off.scheduler.onApplicationBootstrap();
    expect(off.registry.doesExist('interval', REMINDER_INTERVAL_NAME)).toBe(false);

    const on = setup(true, () => Promise.resolve(0));
    on.scheduler.onApplicationBootstrap();
    expect(on.registry.doesExist('interval', REMINDER_INTERVAL_NAME)).toBe(true);
    await on.scheduler.beforeApplicationShutdown();
    expect(on.registry.doesExist('interval', REMINDER_INTERVAL_NAME)).toBe(false);
  });

  it('never overlaps: a tick while one is running does not dispatch again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { scheduler, dispatcher } = setup(true, async () => {
      await gate;
      return 0;
    });
    const first = scheduler.tick();
    const second = scheduler.tick();
    expect(dispatcher.dispatchDue).toHaveBeenCalledTimes(1);
    release();
    await Promise.all([first, second]);
    await scheduler.tick();
    expect(dispatcher.dispatchDue).toHaveBeenCalledTimes(2);
  });

  it('drains full batches, then stops', async () => {
    const results = [100, 100, 3];
    const { scheduler, dispatcher } = setup(true, () => Promise.resolve(results.shift() ?? 0));
    await scheduler.tick();
    expect(dispatcher.dispatchDue).toHaveBeenCalledTimes(3);
  });

  it('logs a failure and keeps going', async () => {
    const { scheduler, dispatcher } = setup(true, () => Promise.reject(new Error('database down')));
    await expect(scheduler.tick()).resolves.toBeUndefined();
    await expect(scheduler.tick()).resolves.toBeUndefined();
    expect(dispatcher.dispatchDue).toHaveBeenCalledTimes(2);
  });
});
