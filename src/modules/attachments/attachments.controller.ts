import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import type { Actor } from '../../common/context/request-context';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../common/decorators/authenticated.decorator';
import { CurrentActor } from '../../common/decorators/current-actor.decorator';
import { UuidParam } from '../../common/decorators/uuid-param.decorator';
import { BeforeTransaction } from '../../database/before-transaction';
import { AttachmentUploadParser, UPLOAD_FIELD } from './attachment-upload.parser';
import { AttachmentsService } from './attachments.service';
import { AttachmentListDto, AttachmentResponseDto } from './dto/attachment.dto';
import { contentDisposition, normaliseContentType } from './filename';
import type { UploadedTempFile } from './upload-storage-engine';
import { Audited } from '../audit/audited.decorator';

@ApiTags('attachments')
@Controller()
@Authenticated()
export class AttachmentsController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post('tasks/:taskId/attachments')
  @Audited({ action: 'attachment.uploaded', resourceType: 'attachment' })
  @BeforeTransaction(AttachmentUploadParser)
  @ApiOperation({
    summary: 'Upload a file to a task',
    description:
      'multipart/form-data with one field, `file`. Limits: ATTACHMENT_MAX_BYTES (413) and ' +
      'ATTACHMENT_ALLOWED_TYPES (415; PNG, JPEG, GIF and PDF must also start with their signature).',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: [UPLOAD_FIELD],
      properties: {
        [UPLOAD_FIELD]: { type: 'string', format: 'binary', description: 'The file (not empty)' },
      },
    },
  })
  @ApiCreatedResponse({ type: AttachmentResponseDto })
  @ApiErrors(400, 404, 413, 415)
  async upload(
    @UuidParam('taskId') taskId: string,
    @Req() req: Request & { file?: UploadedTempFile },
    @CurrentActor() actor: Actor,
  ): Promise<AttachmentResponseDto> {
    const file = req.file;
    if (!file) throw new ValidationFailedError(`${UPLOAD_FIELD} is required`);
    const attachment = await this.attachments.upload(
      taskId,
      {
        tempKey: file.path,
        originalName: file.originalname,
        contentType: normaliseContentType(file.mimetype),
        size: file.size,
        sha256: file.sha256,
      },
      actor,
    );
    return AttachmentResponseDto.fromEntity(attachment);
  }

  @Get('tasks/:taskId/attachments')
  @ApiOperation({ summary: 'List a task’s attachments, newest first' })
  @ApiOkResponse({ type: AttachmentListDto })
  @ApiErrors(400, 404)
  async list(@UuidParam('taskId') taskId: string, @CurrentActor() actor: Actor): Promise<AttachmentListDto> {
    const items = await this.attachments.listForTask(taskId, actor);
    return { items: items.map((a) => AttachmentResponseDto.fromEntity(a)) };
  }

  @Get('attachments/:id')
  @ApiOperation({ summary: 'Get an attachment’s metadata' })
  @ApiOkResponse({ type: AttachmentResponseDto })
  @ApiErrors(400, 404)
  async get(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<AttachmentResponseDto> {
    return AttachmentResponseDto.fromEntity(await this.attachments.get(id, actor));
  }

  @Get('attachments/:id/content')
  @Audited({ action: 'attachment.downloaded', resourceType: 'attachment' })
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'private, no-store')
  @ApiOperation({
    summary: 'Download an attachment',
    description:
      'The stored bytes, with the stored content type, as a download (Content-Disposition: attachment).',
  })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The file', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(400, 404)
  async content(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<StreamableFile> {
    const { attachment, stream } = await this.attachments.openContent(id, actor);
    return new StreamableFile(stream, {
      type: attachment.contentType,
      length: attachment.size,
      disposition: contentDisposition(attachment.filename),
    });
  }

  @Delete('attachments/:id')
  @Audited({ action: 'attachment.deleted', resourceType: 'attachment' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete an attachment (uploader, task owner or admin)' })
  @ApiNoContentResponse({ description: 'Deleted; the file is removed once the deletion has committed' })
  @ApiErrors(400, 403, 404)
  async remove(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.attachments.remove(id, actor);
  }
}
