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
import { CreateReminderDto, ReminderListDto, ReminderResponseDto } from './dto/reminder.dto';
import { RemindersService } from './reminders.service';
import { Audited } from '../audit/audited.decorator';

@ApiTags('reminders')
@Controller()
@Authenticated()
export class RemindersController {
  constructor(private readonly reminders: RemindersService) {}

  @Post('tasks/:taskId/reminders')
  @Audited({ action: 'reminder.created', resourceType: 'reminder' })
  @ApiOperation({
    summary: 'Add a reminder to a task',
    description: 'When due, the task’s assignee (or its owner when unassigned) gets a notification.',
  })
  @ApiCreatedResponse({ type: ReminderResponseDto })
  @ApiErrors(400, 404)
  async create(
    @UuidParam('taskId') taskId: string,
    @Body() dto: CreateReminderDto,
    @CurrentActor() actor: Actor,
  ): Promise<ReminderResponseDto> {
    return ReminderResponseDto.fromEntity(await this.reminders.create(taskId, dto, actor));
  }

  @Get('tasks/:taskId/reminders')
  @ApiOperation({ summary: 'List a task’s reminders, soonest first' })
  @ApiOkResponse({ type: ReminderListDto })
  @ApiErrors(400, 404)
  async list(@UuidParam('taskId') taskId: string, @CurrentActor() actor: Actor): Promise<ReminderListDto> {
    const items = await this.reminders.listForTask(taskId, actor);
    return { items: items.map((r) => ReminderResponseDto.fromEntity(r)) };
  }

  @Delete('reminders/:id')
  @Audited({ action: 'reminder.deleted', resourceType: 'reminder' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a reminder (its creator, the task owner or an admin)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 403, 404)
  async remove(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.reminders.remove(id, actor);
  }
}
