import type { NotificationKind } from './notification.entity';

/** Injection token of the {@link Notifier} in use. */
export const NOTIFIER = Symbol('Notifier');

export interface NotificationMessage {
  kind: NotificationKind;
  /** Recipient user id. */
  userId: string;
  taskId: string;
  reminderId: string;
  title: string;
  body: string;
}

/**
 * Delivers a message to a user. Called inside the caller's transaction: an implementation that
 * writes to the database joins it; one that talks to the outside world (e-mail, push) should queue
 * the message and send it after commit.
 */
export interface Notifier {
  notify(message: NotificationMessage): Promise<void>;
}
