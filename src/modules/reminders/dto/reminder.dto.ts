import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, MaxLength, ValidateBy, ValidationOptions } from 'class-validator';
import { ReminderEntity } from '../reminder.entity';

const EXAMPLE_UUID = '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11';

/** An ISO 8601 timestamp later than now (checked when the request is validated). */
function IsFutureTimestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isFutureTimestamp',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Date.parse(value) > Date.now(),
        defaultMessage: () => '$property must be in the future',
      },
    },
    options,
  );
}

export class CreateReminderDto {
  @ApiProperty({
    description: 'When to remind (ISO 8601, in the future)',
    type: String,
    format: 'date-time',
    example: '2026-12-01T09:00:00.000Z',
  })
  @IsISO8601({ strict: true, strictSeparator: true })
  @IsFutureTimestamp()
  remindAt!: string;

  @ApiPropertyOptional({
    description: 'Text of the reminder (at most 500 characters)',
    example: 'Call the CA before noon.',
    maxLength: 500,
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string | null;
}

export class ReminderResponseDto {
  @ApiProperty({ description: 'Reminder id', format: 'uuid', example: EXAMPLE_UUID })
  id!: string;

  @ApiProperty({ description: 'The task', format: 'uuid', example: EXAMPLE_UUID })
  taskId!: string;

  @ApiProperty({
    description: 'When it is due',
    type: String,
    format: 'date-time',
    example: '2026-12-01T09:00:00.000Z',
  })
  remindAt!: Date;

  @ApiProperty({
    description: 'Text, or null',
    type: String,
    nullable: true,
    example: 'Call the CA before noon.',
  })
  note!: string | null;

  @ApiProperty({
    description: 'When the notification was sent; null until then',
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
  })
  sentAt!: Date | null;

  @ApiProperty({ description: 'The user who created it', format: 'uuid', example: EXAMPLE_UUID })
  createdBy!: string;

  @ApiProperty({
    description: 'Creation time',
    type: String,
    format: 'date-time',
    example: '2026-11-21T10:00:00.000Z',
  })
  createdAt!: Date;

  static fromEntity(r: ReminderEntity): ReminderResponseDto {
    return Object.assign(new ReminderResponseDto(), {
      id: r.id,
      taskId: r.taskId,
      remindAt: r.remindAt,
      note: r.note,
      sentAt: r.sentAt,
      createdBy: r.createdBy,
      createdAt: r.createdAt,
    });
  }
}

export class ReminderListDto {
  @ApiProperty({ description: 'The task’s reminders, soonest first', type: [ReminderResponseDto] })
  items!: ReminderResponseDto[];
}
