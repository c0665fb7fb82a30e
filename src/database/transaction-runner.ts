import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import type { Tx } from './transaction';

type Hook = () => Promise<void> | void;

interface HookSet {
  afterCommit: Hook[];
  afterRollback: Hook[];
}

const HOOKS_KEY = 'transaction:hooks';

/**
 * Runs work in one transaction and, once it has ended, the hooks registered during it: file moves
 * after a commit, temporary-file clean-up after a rollback. The request interceptor uses it for every
 * HTTP request; schedulers and start-up code use it directly.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger(TransactionRunner.name);

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly cls: ClsService,
  ) {}

  /** Runs `fn` in a new transaction (inside a fresh async context when none is active). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.cls.isActive()) return this.cls.run(() => this.runInContext(fn));
    return this.runInContext(fn);
  }

  private async runInContext<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.cls.get<HookSet | undefined>(HOOKS_KEY);
    const hooks: HookSet = { afterCommit: [], afterRollback: [] };
    this.cls.set(HOOKS_KEY, hooks);
    try {
      const result = await this.txHost.withTransaction(fn);
      await this.runHooks(hooks.afterCommit, 'after-commit');
      return result;
    } catch (e) {
      await this.runHooks(hooks.afterRollback, 'after-rollback');
      throw e;
    } finally {
      this.cls.set(HOOKS_KEY, outer);
    }
  }

  /** Runs `hook` once the current transaction has committed (immediately when there is none). */
  async afterCommit(hook: Hook): Promise<void> {
    const hooks = this.cls.isActive() ? this.cls.get<HookSet | undefined>(HOOKS_KEY) : undefined;
    if (hooks) hooks.afterCommit.push(hook);
    else await hook();
  }

  /** Runs `hook` if the current transaction rolls back (never when there is none). */
  afterRollback(hook: Hook): void {
    const hooks = this.cls.isActive() ? this.cls.get<HookSet | undefined>(HOOKS_KEY) : undefined;
    hooks?.afterRollback.push(hook);
  }

  private async runHooks(hooks: Hook[], kind: string): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (e) {
        this.logger.error(`An ${kind} hook failed`, e instanceof Error ? e.stack : String(e));
      }
    }
  }
}
