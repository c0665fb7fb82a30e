import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { API_KEY_SCOPES, ApiKeyEntity, ApiKeyScope } from '../api-key.entity';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class CreateApiKeyDto {
  @ApiProperty({
    description: 'What the key is for (shown in lists and in the audit trail)',
    example: 'SIEM pull',
    minLength: 1,
    maxLength: 100,
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({
    description: 'Scopes granted',
    enum: API_KEY_SCOPES,
    isArray: true,
    example: ['audit:read'],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes!: ApiKeyScope[];

  @ApiPropertyOptional({
    description: 'Expiry (ISO 8601, in the future); omitted: never expires',
    type: String,
    format: 'date-time',
    example: '2027-12-31T23:59:59Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

export class ApiKeyResponseDto {
  @ApiProperty({
    description: 'Key id (the actor id in the audit trail)',
    format: 'uuid',
    example: '5c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  })
  id!: string;

  @ApiProperty({ description: 'Name', example: 'SIEM pull' })
  name!: string;

  @ApiProperty({ description: 'First 8 characters of the secret, to tell keys apart', example: 'atk_Q2x9' })
  prefix!: string;

  @ApiProperty({ description: 'Scopes', enum: API_KEY_SCOPES, isArray: true, example: ['audit:read'] })
  scopes!: string[];

  @ApiProperty({
    description: 'The admin who created it',
    type: String,
    format: 'uuid',
    nullable: true,
    example: '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11',
  })
  createdBy!: string | null;

  @ApiProperty({
    description: 'Created at',
    type: String,
    format: 'date-time',
    example: '2026-11-21T10:00:00.000Z',
  })
  createdAt!: Date;

  @ApiProperty({
    description: 'Expiry; null: never',
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
  })
  expiresAt!: Date | null;

  @ApiProperty({
    description: 'Revoked at; null: live',
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
  })
  revokedAt!: Date | null;

  @ApiProperty({
    description: 'Last use (updated at most once a minute)',
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-11-21T10:05:00.000Z',
  })
  lastUsedAt!: Date | null;

  static fromEntity(k: ApiKeyEntity): ApiKeyResponseDto {
    return Object.assign(new ApiKeyResponseDto(), {
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      scopes: k.scopes,
      createdBy: k.createdBy,
      createdAt: k.createdAt,
      expiresAt: k.expiresAt,
      revokedAt: k.revokedAt,
      lastUsedAt: k.lastUsedAt,
    });
  }
}

export class CreatedApiKeyDto extends ApiKeyResponseDto {
  @ApiProperty({
    description: 'The secret: shown once, never again. Send it as the X-Api-Key header.',
    example: 'atk_Q2x9vM1c…',
  })
  secret!: string;
}
