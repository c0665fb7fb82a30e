import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import type { QueryRunner } from 'typeorm';
import type { Tx } from './transaction';

type Hook = () => Promise<void> | void;

interface HookSet {
  afterCommit: Hook[];
  afterRollback: Hook[];
  /** This run opened the transaction (it was not inside another one). */
  owner: boolean;
  /** A last statement to send in the COMMIT's message (atCommit). */
  atCommit?: string;
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

  /**
   * Runs `fn` in a new transaction (inside a fresh async context when none is active). `onRollback`
   * is an after-rollback hook registered before the transaction begins: it also runs if the
   * transaction never begins (no connection), for leftovers of work done before it.
   */
  run<T>(fn: () => Promise<T>, onRollback?: Hook): Promise<T> {
    if (!this.cls.isActive()) return this.cls.run(() => this.runInContext(fn, onRollback));
    return this.runInContext(fn, onRollback);
  }

  private async runInContext<T>(fn: () => Promise<T>, onRollback: Hook | undefined): Promise<T> {
    const outer = this.cls.get<HookSet | undefined>(HOOKS_KEY);
    const hooks: HookSet = {
      afterCommit: [],
      afterRollback: onRollback ? [onRollback] : [],
      owner: !this.txHost.isTransactionActive(),
    };
    this.cls.set(HOOKS_KEY, hooks);
    try {
      const result = await this.txHost.withTransaction(async () => {
        const value = await fn();
        const runner = this.txHost.tx.queryRunner;
        if (hooks.atCommit !== undefined && runner) sendWithCommit(runner, hooks.atCommit);
        return value;
      });
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

  /**
   * Sends `statement` (SQL without bind parameters) in the same message as the COMMIT of the current
   * transaction: one round trip instead of two. PostgreSQL runs it, then commits; if it fails, the
   * COMMIT does not run, the transaction rolls back and its error is the commit's. For the LAST
   * statement of a transaction this runner opened, one nothing in the transaction reads back (the
   * request's own audit event); returns false, and the caller runs the statement itself, when the
   * transaction is not this run's own or a statement is already waiting.
   */
  atCommit(statement: string): boolean {
    const hooks = this.cls.isActive() ? this.cls.get<HookSet | undefined>(HOOKS_KEY) : undefined;
    if (!hooks?.owner || hooks.atCommit !== undefined || !this.txHost.isTransactionActive()) return false;
    hooks.atCommit = statement;
    return true;
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

/**
 * Makes the runner's next COMMIT carry `statement`: TypeORM's commitTransaction keeps its own
 * bookkeeping and sends `<statement>; COMMIT` as one simple-protocol message. The override removes
 * itself at that COMMIT; a ROLLBACK passes through (the statement is then never sent).
 */
function sendWithCommit(runner: QueryRunner, statement: string): void {
  const query = runner.query.bind(runner) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
  const withCommit = (sql: string, ...rest: unknown[]): Promise<unknown> => {
    if (sql !== 'COMMIT') return query(sql, ...rest);
    Reflect.deleteProperty(runner, 'query');
    return query(`${statement}; COMMIT`);
  };
  Object.defineProperty(runner, 'query', { value: withCommit, configurable: true, writable: true });
}
