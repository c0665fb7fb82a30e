import { ApiProperty } from '@nestjs/swagger';
import { AttachmentEntity } from '../attachment.entity';

const EXAMPLE_UUID = '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11';

export class AttachmentResponseDto {
  @ApiProperty({ description: 'Attachment id', format: 'uuid', example: EXAMPLE_UUID })
  id!: string;

  @ApiProperty({ description: 'The task it belongs to', format: 'uuid', example: EXAMPLE_UUID })
  taskId!: string;

  @ApiProperty({
    description: 'File name as uploaded: base name only, control characters removed',
    example: 'invoice-2026-11.pdf',
  })
  filename!: string;

  @ApiProperty({ description: 'Content type (without parameters)', example: 'application/pdf' })
  contentType!: string;

  @ApiProperty({ description: 'Size in bytes', example: 48213 })
  size!: number;

  @ApiProperty({
    description: 'SHA-256 of the content, lower-case hex',
    example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  })
  sha256!: string;

  @ApiProperty({ description: 'The user who uploaded it', format: 'uuid', example: EXAMPLE_UUID })
  uploadedBy!: string;

  @ApiProperty({
    description: 'Upload time',
    type: String,
    format: 'date-time',
    example: '2026-11-21T10:00:00.000Z',
  })
  createdAt!: Date;

  static fromEntity(a: AttachmentEntity): AttachmentResponseDto {
    return Object.assign(new AttachmentResponseDto(), {
      id: a.id,
      taskId: a.taskId,
      filename: a.filename,
      contentType: a.contentType,
      size: a.size,
      sha256: a.sha256,
      uploadedBy: a.uploadedBy,
      createdAt: a.createdAt,
    });
  }
}

export class AttachmentListDto {
  @ApiProperty({ description: 'The task’s attachments, newest first', type: [AttachmentResponseDto] })
  items!: AttachmentResponseDto[];
}
