import { Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../../common/context/request-context';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../common/decorators/authenticated.decorator';
import { CurrentActor } from '../../common/decorators/current-actor.decorator';
import { UuidParam } from '../../common/decorators/uuid-param.decorator';
import {
  ListNotificationsQueryDto,
  NotificationListDto,
  NotificationResponseDto,
} from './dto/notification.dto';
import { NotificationsService } from './notifications.service';
import { NoAudit } from '../audit/audited.decorator';

@ApiTags('notifications')
@Controller('notifications')
@Authenticated()
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  @ApiOperation({ summary: 'Your notifications, newest first' })
  @ApiOkResponse({ type: NotificationListDto })
  @ApiErrors(400)
  async list(
    @Query() query: ListNotificationsQueryDto,
    @CurrentActor() actor: Actor,
  ): Promise<NotificationListDto> {
    const items = await this.notifications.listForCaller(actor, {
      unreadOnly: query.unread === 'true',
      limit: query.limit,
    });
    return { items: items.map((n) => NotificationResponseDto.fromEntity(n)) };
  }

  @Post(':id/read')
  // Marking one's own notification read is not an action the trail records.
  @NoAudit()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Mark one of your notifications read' })
  @ApiNoContentResponse({ description: 'Marked read (or already was)' })
  @ApiErrors(400, 404)
  async markRead(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.notifications.markRead(id, actor);
  }
}
