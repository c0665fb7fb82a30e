import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Actor } from '../../common/context/request-context';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../common/decorators/authenticated.decorator';
import { CurrentActor } from '../../common/decorators/current-actor.decorator';
import { UuidParam } from '../../common/decorators/uuid-param.decorator';
import { Audited } from '../audit/audited.decorator';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyResponseDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

@ApiTags('api-keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Audited({ action: 'api_key.created', resourceType: 'api_key' })
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({
    summary: 'Create an API key (admin)',
    description:
      'The answer carries the secret, once: only its SHA-256 is stored. Send it as the X-Api-Key header.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrors(400)
  async create(@Body() dto: CreateApiKeyDto, @CurrentActor() actor: Actor): Promise<CreatedApiKeyDto> {
    const { key, secret } = await this.keys.create(dto, actor);
    return Object.assign(ApiKeyResponseDto.fromEntity(key), { secret });
  }

  @Get()
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({ summary: 'List API keys (admin), newest first; never the secrets' })
  @ApiOkResponse({ type: [ApiKeyResponseDto] })
  async list(): Promise<ApiKeyResponseDto[]> {
    return (await this.keys.list()).map((k) => ApiKeyResponseDto.fromEntity(k));
  }

  @Delete(':id')
  @Audited({ action: 'api_key.revoked', resourceType: 'api_key' })
  @Authenticated({ roles: ['admin'] })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke an API key (admin); it is refused from then on' })
  @ApiNoContentResponse({ description: 'Revoked (or already revoked)' })
  @ApiErrors(400, 404)
  async revoke(@UuidParam('id') id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
