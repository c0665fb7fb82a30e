import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { AppConfig } from '../../../config/app-config';
import type { Tx } from '../../../database/transaction';
import { verifyChain, VerifyOptions, VerifyResult } from './chain-verifier';

/** Verifies the hash chain in the current transaction (see chain-verifier.ts; the CLI shares it). */
@Injectable()
export class AuditVerifier {
  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly config: AppConfig,
  ) {}

  verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    return verifyChain(
      <T>(sql: string, params?: unknown[]) => this.txHost.tx.query<T[]>(sql, params),
      this.config.auditSigningKey,
      options,
    );
  }
}
