import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../../config/app-config';
import { ReminderDispatcher } from './reminder-dispatcher';

export const REMINDER_INTERVAL_NAME = 'reminders.dispatch';
const BATCH_SIZE = 100;
/** Batches per tick at most, so one tick cannot run forever. */
const MAX_BATCHES_PER_TICK = 50;

/**
 * Polls every REMINDER_POLL_MS (unless REMINDER_SCHEDULER_ENABLED=false). Never overlaps itself in
 * one process: a tick that finds the previous one still running does nothing. Errors are logged, the
 * interval keeps going.
 */
@Injectable()
export class ReminderScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReminderScheduler.name);
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly dispatcher: ReminderDispatcher,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.reminderSchedulerEnabled) {
      this.logger.log('Reminder scheduler disabled (REMINDER_SCHEDULER_ENABLED=false)');
      return;
    }
    const handle = setInterval(() => void this.tick(), this.config.reminderPollMs);
    this.registry.addInterval(REMINDER_INTERVAL_NAME, handle);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', REMINDER_INTERVAL_NAME)) {
      this.registry.deleteInterval(REMINDER_INTERVAL_NAME);
    }
    await this.running;
  }

  /** One poll: drains due reminders batch by batch. Returns at once if a poll is still running. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
        const delivered = await this.dispatcher.dispatchDue(BATCH_SIZE);
        if (delivered < BATCH_SIZE) return;
      }
    } catch (e) {
      this.logger.error('Reminder dispatch failed', e instanceof Error ? e.stack : String(e));
    }
  }
}
