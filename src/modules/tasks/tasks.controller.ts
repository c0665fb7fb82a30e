import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query } from '@nestjs/common';
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
import {
  CreateTaskDto,
  ListTasksQueryDto,
  TaskPageDto,
  TaskResponseDto,
  UpdateTaskDto,
} from './dto/task.dto';
import { TasksService } from './tasks.service';
import { Audited } from '../audit/audited.decorator';

@ApiTags('tasks')
@Controller('tasks')
@Authenticated()
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @Audited({ action: 'task.created', resourceType: 'task' })
  @ApiOperation({ summary: 'Create a task', description: 'The caller becomes its owner.' })
  @ApiCreatedResponse({ type: TaskResponseDto })
  @ApiErrors(400)
  async create(@Body() dto: CreateTaskDto, @CurrentActor() actor: Actor): Promise<TaskResponseDto> {
    return TaskResponseDto.fromEntity(await this.tasks.create(dto, actor));
  }

  @Get()
  @ApiOperation({
    summary: 'List tasks, newest first',
    description: 'A user sees the tasks they own or are assigned to; an admin sees all.',
  })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiErrors(400)
  async list(@Query() query: ListTasksQueryDto, @CurrentActor() actor: Actor): Promise<TaskPageDto> {
    const page = await this.tasks.list(query, actor);
    return { ...page, items: page.items.map((t) => TaskResponseDto.fromEntity(t)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a task' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 404)
  async get(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<TaskResponseDto> {
    return TaskResponseDto.fromEntity(await this.tasks.getVisible(id, actor));
  }

  @Patch(':id')
  @Audited({ action: 'task.updated', resourceType: 'task' })
  @ApiOperation({
    summary: 'Update a task (owner, assignee or admin)',
    description: 'Every field is optional; null clears description, dueAt and assigneeId.',
  })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 403, 404)
  async update(
    @UuidParam('id') id: string,
    @Body() dto: UpdateTaskDto,
    @CurrentActor() actor: Actor,
  ): Promise<TaskResponseDto> {
    const { after } = await this.tasks.update(id, dto, actor);
    return TaskResponseDto.fromEntity(after);
  }

  @Delete(':id')
  @Audited({ action: 'task.deleted', resourceType: 'task' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a task (owner or admin)',
    description: 'Its attachments (rows and files) and reminders are deleted with it.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 403, 404)
  async remove(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.tasks.remove(id, actor);
  }
}
