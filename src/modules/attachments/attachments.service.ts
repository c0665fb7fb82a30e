import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Actor } from '../../common/context/request-context';
import { ForbiddenError, NotFoundError } from '../../common/errors/domain-error';
import { TransactionRunner } from '../../database/transaction-runner';
import type { Tx } from '../../database/transaction';
import { actorUserId, canDeleteTaskChild } from '../tasks/task-access';
import type { TaskEntity } from '../tasks/task.entity';
import { AuditService } from '../audit/audit.service';
import { createdChanges, deletedChanges } from '../audit/changes';
import { TasksService } from '../tasks/tasks.service';
import { ATTACHMENT_STORAGE, type AttachmentStorage } from './attachment-storage';
import { AttachmentEntity } from './attachment.entity';
import { sanitizeFilename } from './filename';

/** An upload already streamed into a temporary storage object (see AttachmentUploadParser). */
export interface PendingUpload {
  tempKey: string;
  originalName: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** The attachment fields the audit trail records. */
export const AUDITED_ATTACHMENT_FIELDS = ['taskId', 'filename', 'contentType', 'size', 'sha256'] as const;

@Injectable()
export class AttachmentsService implements OnModuleInit {
  private readonly logger = new Logger(AttachmentsService.name);

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    @Inject(ATTACHMENT_STORAGE) private readonly storage: AttachmentStorage,
    private readonly transactions: TransactionRunner,
    private readonly tasks: TasksService,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.txHost.tx.getRepository(AttachmentEntity);
  }

  onModuleInit(): void {
    // A task's attachment rows go with it (foreign key cascade); their files go once that commits.
    this.tasks.onTaskDeletion(async (task) => {
      const rows = await this.repo.find({ where: { taskId: task.id }, select: { id: true } });
      for (const { id } of rows) await this.removeFileAfterCommit(id);
    });
  }

  /**
   * Records an upload on a task the caller can see. The file is moved into place once the row has
   * committed; if the transaction rolls back, the temporary file is removed instead.
   */
  async upload(taskId: string, upload: PendingUpload, actor: Actor): Promise<AttachmentEntity> {
    this.transactions.afterRollback(() => this.storage.discardTemp(upload.tempKey));
    await this.tasks.getVisible(taskId, actor);
    const attachment = await this.repo.save(
      this.repo.create({
        id: randomUUID(),
        taskId,
        filename: sanitizeFilename(upload.originalName),
        contentType: upload.contentType,
        size: upload.size,
        sha256: upload.sha256,
        uploadedBy: actorUserId(actor),
      }),
    );
    await this.transactions.afterCommit(() => this.storage.promote(upload.tempKey, attachment.id));
    this.audit.setResource('attachment', attachment.id, attachment.filename);
    this.audit.setChanges(createdChanges(attachment, AUDITED_ATTACHMENT_FIELDS));
    return attachment;
  }

  /** A task's attachments, newest first. */
  async listForTask(taskId: string, actor: Actor): Promise<AttachmentEntity[]> {
    await this.tasks.getVisible(taskId, actor);
    return this.repo.find({ where: { taskId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** The attachment, if the caller can see its task; otherwise 404. */
  async get(id: string, actor: Actor): Promise<AttachmentEntity> {
    return (await this.getWithTask(id, actor)).attachment;
  }

  /** The attachment and a stream of its bytes. */
  async openContent(id: string, actor: Actor): Promise<{ attachment: AttachmentEntity; stream: Readable }> {
    const attachment = await this.get(id, actor);
    this.audit.setResource('attachment', attachment.id, attachment.filename);
    this.audit.addMetadata({ taskId: attachment.taskId, size: attachment.size, sha256: attachment.sha256 });
    const stream = await this.storage.open(attachment.id);
    if (!stream) {
      this.logger.warn(`Attachment ${id} has a row but no stored file`);
      throw new NotFoundError('Attachment content', id);
    }
    return { attachment, stream };
  }

  /** Deletes the row (uploader, task owner or admin); the file goes once that commits. */
  async remove(id: string, actor: Actor): Promise<AttachmentEntity> {
    const { attachment, task } = await this.getWithTask(id, actor);
    this.audit.setResource('attachment', attachment.id, attachment.filename);
    if (!canDeleteTaskChild(task, attachment.uploadedBy, actor)) {
      throw new ForbiddenError('Only the uploader, the task owner or an admin may delete an attachment');
    }
    await this.repo.delete({ id });
    await this.removeFileAfterCommit(id);
    this.audit.setChanges(deletedChanges(attachment, AUDITED_ATTACHMENT_FIELDS));
    return attachment;
  }

  private async getWithTask(
    id: string,
    actor: Actor,
  ): Promise<{ attachment: AttachmentEntity; task: TaskEntity }> {
    const attachment = await this.repo.findOneBy({ id });
    if (!attachment) throw new NotFoundError('Attachment', id);
    try {
      return { attachment, task: await this.tasks.getVisible(attachment.taskId, actor) };
    } catch (e) {
      // Not the task's 404: that would reveal which task the attachment belongs to.
      if (e instanceof NotFoundError) throw new NotFoundError('Attachment', id);
      throw e;
    }
  }

  private async removeFileAfterCommit(id: string): Promise<void> {
    await this.transactions.afterCommit(() => this.storage.remove(id));
  }
}
