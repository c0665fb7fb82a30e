import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { NOTIFICATION_KINDS, NotificationEntity, NotificationKind } from '../notification.entity';

const EXAMPLE_UUID = '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11';
const EXAMPLE_DATE = '2026-11-21T10:00:00.000Z';

export class ListNotificationsQueryDto {
  @ApiPropertyOptional({
    description: '`true`: only unread notifications',
    enum: ['true', 'false'],
    example: 'true',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  unread?: 'true' | 'false';

  @ApiPropertyOptional({
    description: 'At most this many (1–100)',
    minimum: 1,
    maximum: 100,
    default: 50,
    example: 50,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 50;
}

export class NotificationResponseDto {
  @ApiProperty({ description: 'Notification id', format: 'uuid', example: EXAMPLE_UUID })
  id!: string;

  @ApiProperty({ description: 'What it is about', enum: NOTIFICATION_KINDS, example: 'reminder' })
  kind!: NotificationKind;

  @ApiProperty({
    description: 'The task (it may have been deleted since)',
    format: 'uuid',
    example: EXAMPLE_UUID,
  })
  taskId!: string;

  @ApiProperty({ description: 'The reminder that triggered it', format: 'uuid', example: EXAMPLE_UUID })
  reminderId!: string;

  @ApiProperty({ description: 'Headline', example: 'Reminder: Renew the TLS certificate' })
  title!: string;

  @ApiProperty({ description: 'Text', example: 'Call the CA before noon.' })
  body!: string;

  @ApiProperty({ description: 'Delivery time', type: String, format: 'date-time', example: EXAMPLE_DATE })
  createdAt!: Date;

  @ApiProperty({
    description: 'When the recipient marked it read, or null',
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
  })
  readAt!: Date | null;

  static fromEntity(n: NotificationEntity): NotificationResponseDto {
    return Object.assign(new NotificationResponseDto(), {
      id: n.id,
      kind: n.kind,
      taskId: n.taskId,
      reminderId: n.reminderId,
      title: n.title,
      body: n.body,
      createdAt: n.createdAt,
      readAt: n.readAt,
    });
  }
}

export class NotificationListDto {
  @ApiProperty({ description: 'The caller’s notifications, newest first', type: [NotificationResponseDto] })
  items!: NotificationResponseDto[];
}
