import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../../config/app-config';
import { TasksModule } from '../tasks/tasks.module';
import { AttachmentSweeper } from './attachment-sweeper';
import { ATTACHMENT_STORAGE, type AttachmentStorage } from './attachment-storage';
import { AttachmentUploadParser } from './attachment-upload.parser';
import { AttachmentsController } from './attachments.controller';
import { AttachmentsService } from './attachments.service';
import { LocalDiskAttachmentStorage } from './local-disk-attachment-storage';

@Module({
  imports: [AuditModule, TasksModule],
  controllers: [AttachmentsController],
  providers: [
    {
      provide: ATTACHMENT_STORAGE,
      inject: [AppConfig],
      useFactory: (config: AppConfig): AttachmentStorage =>
        new LocalDiskAttachmentStorage(config.attachmentsDir),
    },
    AttachmentsService,
    AttachmentSweeper,
    AttachmentUploadParser,
  ],
  exports: [AttachmentsService],
})
export class AttachmentsModule {}
