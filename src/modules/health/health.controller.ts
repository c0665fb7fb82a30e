import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Public } from '../../common/decorators/public.decorator';
import { DatabaseHealthIndicator } from './database.health';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  @Get()
  @Public()
  @ApiOperation({
    summary: 'Liveness and database health',
    description: '200 when the database answers; 503 otherwise.',
  })
  @ApiOkResponse({
    description: 'Healthy',
    schema: {
      example: {
        status: 'ok',
        info: { database: { status: 'up', responseTimeMs: 1 } },
        error: {},
        details: { database: { status: 'up', responseTimeMs: 1 } },
      },
    },
  })
  @ApiErrors(503)
  async check(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.database.ping()]);
    } catch {
      throw new ServiceUnavailableException('Database is unreachable');
    }
  }
}
