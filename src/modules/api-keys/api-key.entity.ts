import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const API_KEY_SCOPES = ['audit:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * A machine credential. Only the SHA-256 of the secret is stored; `prefix` (its first 8 characters)
 * lets people tell keys apart. No foreign key to users: a key outlives the admin who created it.
 */
@Entity({ name: 'api_keys' })
@Index('api_keys_key_hash_uq', ['keyHash'], { unique: true })
@Check('api_keys_scopes_ck', `"scopes" <@ ARRAY['audit:read']::text[]`)
@Check('api_keys_name_ck', `char_length("name") BETWEEN 1 AND 100`)
@Check('api_keys_key_hash_ck', `"key_hash" ~ '^[0-9a-f]{64}$'`)
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'api_keys_pk' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  prefix!: string;

  @Column({ name: 'key_hash', type: 'text' })
  keyHash!: string;

  @Column({ type: 'text', array: true })
  scopes!: ApiKeyScope[];

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
