import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { PageMetaDto, PaginationQueryDto } from '../../../common/dto/pagination.dto';
import { TASK_PRIORITIES, TASK_STATUSES, TaskEntity, TaskPriority, TaskStatus } from '../task.entity';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
/** Present: validate (so `null` fails). Absent: skip. For fields that may be omitted but not cleared. */
const unlessUndefined = (_: object, value: unknown): boolean => value !== undefined;

const EXAMPLE_UUID = '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11';
const EXAMPLE_DATE = '2026-12-01T09:00:00.000Z';

export class CreateTaskDto {
  @ApiProperty({
    description: 'Title (1–200 characters, trimmed)',
    example: 'Renew the TLS certificate',
    minLength: 1,
    maxLength: 200,
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title!: string;

  @ApiPropertyOptional({
    description: 'Free text (at most 10,000 characters)',
    example: 'The current one expires on 12 December.',
    maxLength: 10000,
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiPropertyOptional({ description: 'Status', enum: TASK_STATUSES, default: 'todo', example: 'todo' })
  @ValidateIf(unlessUndefined)
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional({ description: 'Priority', enum: TASK_PRIORITIES, default: 'medium', example: 'high' })
  @ValidateIf(unlessUndefined)
  @IsIn(TASK_PRIORITIES)
  priority?: TaskPriority;

  @ApiPropertyOptional({
    description: 'Due date and time (ISO 8601)',
    example: EXAMPLE_DATE,
    format: 'date-time',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  dueAt?: string | null;

  @ApiPropertyOptional({
    description: 'Id of the active user the task is assigned to',
    example: EXAMPLE_UUID,
    format: 'uuid',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsUUID('all')
  assigneeId?: string | null;
}

/** Every field optional; `null` clears description, dueAt and assigneeId. */
export class UpdateTaskDto {
  @ApiPropertyOptional({
    description: 'Title (1–200 characters, trimmed)',
    example: 'Renew the TLS certificate',
    minLength: 1,
    maxLength: 200,
  })
  @ValidateIf(unlessUndefined)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({
    description: 'Free text (at most 10,000 characters); null clears it',
    example: 'Done by Friday.',
    maxLength: 10000,
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiPropertyOptional({ description: 'Status', enum: TASK_STATUSES, example: 'in_progress' })
  @ValidateIf(unlessUndefined)
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional({ description: 'Priority', enum: TASK_PRIORITIES, example: 'low' })
  @ValidateIf(unlessUndefined)
  @IsIn(TASK_PRIORITIES)
  priority?: TaskPriority;

  @ApiPropertyOptional({
    description: 'Due date and time (ISO 8601); null clears it',
    example: EXAMPLE_DATE,
    format: 'date-time',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  dueAt?: string | null;

  @ApiPropertyOptional({
    description: 'Id of the active user to assign the task to; null unassigns it',
    example: EXAMPLE_UUID,
    format: 'uuid',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsUUID('all')
  assigneeId?: string | null;
}

export class ListTasksQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ description: 'Only tasks with this status', enum: TASK_STATUSES, example: 'todo' })
  @IsOptional()
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional({
    description: 'Only tasks assigned to this user',
    example: EXAMPLE_UUID,
    format: 'uuid',
  })
  @IsOptional()
  @IsUUID('all')
  assigneeId?: string;

  @ApiPropertyOptional({
    description: 'Only tasks whose title contains this text (case-insensitive)',
    example: 'certificate',
    maxLength: 200,
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  q?: string;
}

export class TaskResponseDto {
  @ApiProperty({ description: 'Task id', format: 'uuid', example: EXAMPLE_UUID })
  id!: string;

  @ApiProperty({ description: 'Title', example: 'Renew the TLS certificate' })
  title!: string;

  @ApiProperty({
    description: 'Free text, or null',
    example: 'The current one expires on 12 December.',
    nullable: true,
    type: String,
  })
  description!: string | null;

  @ApiProperty({ description: 'Status', enum: TASK_STATUSES, example: 'todo' })
  status!: TaskStatus;

  @ApiProperty({ description: 'Priority', enum: TASK_PRIORITIES, example: 'medium' })
  priority!: TaskPriority;

  @ApiProperty({
    description: 'Due date, or null',
    type: String,
    format: 'date-time',
    nullable: true,
    example: EXAMPLE_DATE,
  })
  dueAt!: Date | null;

  @ApiProperty({ description: 'The user who created the task', format: 'uuid', example: EXAMPLE_UUID })
  ownerId!: string;

  @ApiProperty({
    description: 'The user the task is assigned to, or null',
    format: 'uuid',
    nullable: true,
    type: String,
    example: EXAMPLE_UUID,
  })
  assigneeId!: string | null;

  @ApiProperty({ description: 'Creation time', type: String, format: 'date-time', example: EXAMPLE_DATE })
  createdAt!: Date;

  @ApiProperty({ description: 'Last change', type: String, format: 'date-time', example: EXAMPLE_DATE })
  updatedAt!: Date;

  static fromEntity(t: TaskEntity): TaskResponseDto {
    return Object.assign(new TaskResponseDto(), {
      id: t.id,
      title: t.title,
      description: t.description,
      status: t.status,
      priority: t.priority,
      dueAt: t.dueAt,
      ownerId: t.ownerId,
      assigneeId: t.assigneeId,
      createdAt: t.createdAt,
      updatedAt: t.updatedAt,
    });
  }
}

export class TaskPageDto extends PageMetaDto {
  @ApiProperty({ description: 'The page of tasks, newest first', type: [TaskResponseDto] })
  items!: TaskResponseDto[];
}
