import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  RequestMethod,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../../database/transaction';
import { TransactionRunner } from '../../database/transaction-runner';
import { AuditCapture } from './audit-capture.service';
import { AuditService } from './audit.service';
import { AUDITED_KEY, NO_AUDIT_KEY } from './audited.decorator';

const MUTATING = new Set([RequestMethod.POST, RequestMethod.PUT, RequestMethod.PATCH, RequestMethod.DELETE]);
const SPOOL_REPLAY_MS = 10_000;

/** system.started / system.stopped, the unaudited-route warning, and the spool replay timer. */
@Injectable()
export class AuditLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private timer?: NodeJS.Timeout;
  private replaying = false;

  constructor(
    private readonly audit: AuditService,
    private readonly capture: AuditCapture,
    private readonly transactions: TransactionRunner,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @InjectTransactionHost() private readonly txHost: Tx,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const unaudited = this.unauditedMutatingRoutes();
    if (unaudited.length > 0)
      this.logger.warn(`Mutating routes without @Audited or @NoAudit: ${unaudited.join(', ')}`);
    await this.replay();
    if (this.capture.enabled) {
      await this.transactions.run(() =>
        this.audit.record({
          action: 'system.started',
          actor: { type: 'system', id: null, name: 'System' },
          metadata: { pid: process.pid, node: process.version },
        }),
      );
    }
    this.timer = setInterval(() => void this.replay(), SPOOL_REPLAY_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.capture.enabled) return;
    try {
      await this.transactions.run(() =>
        this.audit.record({
          action: 'system.stopped',
          actor: { type: 'system', id: null, name: 'System' },
          metadata: { pid: process.pid, signal: signal ?? null },
        }),
      );
    } catch (e) {
      this.logger.error('Could not record system.stopped', e instanceof Error ? e.stack : String(e));
    }
  }

  /** Replays the spool, one run at a time. */
  async replay(): Promise<number> {
    if (this.replaying) return 0;
    this.replaying = true;
    try {
      return await this.capture.replaySpool();
    } catch (e) {
      this.logger.warn(`Spool replay failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
      return 0;
    } finally {
      this.replaying = false;
    }
  }

  unauditedMutatingRoutes(): string[] {
    const found: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || !wrapper.metatype) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      const classNoAudit = this.reflector.get<boolean | undefined>(NO_AUDIT_KEY, wrapper.metatype) === true;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = (proto as Record<string, unknown>)[name];
        if (typeof handler !== 'function') continue;
        const method = this.reflector.get<RequestMethod | undefined>('method', handler as () => void);
        if (method === undefined || !MUTATING.has(method)) continue;
        if (
          classNoAudit ||
          this.reflector.get(NO_AUDIT_KEY, handler as () => void) ||
          this.reflector.get(AUDITED_KEY, handler as () => void)
        )
          continue;
        found.push(`${wrapper.metatype.name}.${name}`);
      }
    }
    return found;
  }
}
