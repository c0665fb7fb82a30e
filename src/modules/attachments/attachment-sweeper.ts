import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { In } from 'typeorm';
import { TransactionRunner } from '../../database/transaction-runner';
import type { Tx } from '../../database/transaction';
import { ATTACHMENT_STORAGE, type AttachmentStorage } from './attachment-storage';
import { AttachmentEntity } from './attachment.entity';

/** Temporary files younger than this may belong to an upload in flight on another instance. */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;
const CHUNK = 500;

/**
 * On start-up, removes stored files that have no attachment row (left by a crash between a commit and
 * the file removal, or by a failed move) and temporary upload files older than an hour.
 */
@Injectable()
export class AttachmentSweeper implements OnApplicationBootstrap {
  private readonly logger = new Logger(AttachmentSweeper.name);

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    @Inject(ATTACHMENT_STORAGE) private readonly storage: AttachmentStorage,
    private readonly transactions: TransactionRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const { orphans, temps } = await this.sweep();
      if (orphans + temps > 0)
        this.logger.log(`Removed ${orphans} orphaned and ${temps} stale temporary files`);
    } catch (e) {
      this.logger.error('Attachment sweep failed', e instanceof Error ? e.stack : String(e));
    }
  }

  async sweep(now = new Date()): Promise<{ orphans: number; temps: number }> {
    const keys = await this.storage.listKeys();
    let orphans = 0;
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const rows = await this.transactions.run(() =>
        this.txHost.tx
          .getRepository(AttachmentEntity)
          .find({ where: { id: In(chunk) }, select: { id: true } }),
      );
      const known = new Set(rows.map((r) => r.id));
      for (const key of chunk.filter((k) => !known.has(k))) {
        await this.storage.remove(key);
        orphans++;
      }
    }
    const stale = await this.storage.listStaleTemp(new Date(now.getTime() - STALE_TEMP_AGE_MS));
    for (const tempKey of stale) await this.storage.discardTemp(tempKey);
    return { orphans, temps: stale.length };
  }
}
