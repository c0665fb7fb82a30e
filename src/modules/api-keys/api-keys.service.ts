import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../../common/context/request-context';
import { NotFoundError, UnauthenticatedError, ValidationFailedError } from '../../common/errors/domain-error';
import type { Tx } from '../../database/transaction';
import { AuditService } from '../audit/audit.service';
import { createdChanges } from '../audit/changes';
import { ApiKeyEntity, ApiKeyScope } from './api-key.entity';

export const API_KEY_PREFIX = 'atk_';
const PREFIX_LENGTH = 8;
/** last_used_at is written at most this often per key. */
const LAST_USED_RESOLUTION_MS = 60_000;
const AUDITED_KEY_FIELDS = ['name', 'prefix', 'scopes', 'expiresAt'] as const;

export const hashApiKey = (secret: string): string =>
  createHash('sha256').update(secret, 'utf8').digest('hex');

export interface NewApiKey {
  key: ApiKeyEntity;
  /** Returned once to the creator; never stored, logged or audited. */
  secret: string;
}

/** Machine credentials: create (secret shown once), list, revoke, and authenticate an X-Api-Key. */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.txHost.tx.getRepository(ApiKeyEntity);
  }

  async create(
    input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string },
    creator: Actor,
  ): Promise<NewApiKey> {
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw new ValidationFailedError('expiresAt must be in the future');
    const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const key = await this.repo.save(
      this.repo.create({
        name: input.name,
        prefix: secret.slice(0, PREFIX_LENGTH),
        keyHash: hashApiKey(secret),
        scopes: [...input.scopes],
        createdBy: creator.type === 'user' ? creator.id : null,
        expiresAt,
        revokedAt: null,
        lastUsedAt: null,
      }),
    );
    this.audit.setResource('api_key', key.id, key.name);
    this.audit.setChanges(createdChanges(key, AUDITED_KEY_FIELDS));
    return { key, secret };
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.repo.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** Revokes a key (idempotent: revoking a revoked key changes and records nothing). */
  async revoke(id: string): Promise<ApiKeyEntity> {
    const key = await this.repo.findOneBy({ id });
    if (!key) throw new NotFoundError('API key', id);
    this.audit.setResource('api_key', key.id, key.name);
    if (key.revokedAt !== null) {
      this.audit.skip();
      return key;
    }
    key.revokedAt = new Date();
    await this.repo.update({ id }, { revokedAt: key.revokedAt });
    this.audit.setChanges({ revokedAt: { from: null, to: key.revokedAt.toISOString() } });
    return key;
  }

  /**
   * The live key for a presented secret, or 401. Unknown, revoked and expired keys fail alike.
   * Runs in the guard, outside the request's transaction.
   */
  async authenticate(secret: string): Promise<ApiKeyEntity> {
    const refused = new UnauthenticatedError('Invalid, expired or revoked API key', true);
    if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 200) throw refused;
    const key = await this.repo.findOneBy({ keyHash: hashApiKey(secret) });
    if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt.getTime() <= Date.now()))
      throw refused;
    if (key.lastUsedAt === null || Date.now() - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.txHost.tx.query(
        `UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [key.id],
      );
    }
    return key;
  }
}
