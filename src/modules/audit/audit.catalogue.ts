/**
 * The action catalogue: the contract of what the trail records. Every action has a category and
 * the phrases its human-readable description is built from.
 */
export const AUDIT_CATEGORIES = [
  'auth',
  'user',
  'task',
  'attachment',
  'reminder',
  'security',
  'audit',
  'system',
  'error',
] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

interface ActionSpec {
  category: AuditCategory;
  /** Past tense, after the actor's name: "created task". */
  done: string;
  /** Infinitive, after "tried to": "create task". */
  attempt: string;
}

export const AUDIT_ACTIONS = {
  'auth.login': { category: 'auth', done: 'logged in', attempt: 'log in' },
  'auth.login_failed': { category: 'auth', done: 'failed to log in', attempt: 'log in' },
  'auth.logout': { category: 'auth', done: 'logged out', attempt: 'log out' },
  'user.created': { category: 'user', done: 'created user', attempt: 'create user' },
  'user.updated': { category: 'user', done: 'changed user', attempt: 'change user' },
  'user.role_changed': {
    category: 'user',
    done: 'changed the role of user',
    attempt: 'change the role of user',
  },
  'user.deactivated': { category: 'user', done: 'deactivated user', attempt: 'deactivate user' },
  'user.activated': { category: 'user', done: 'reactivated user', attempt: 'reactivate user' },
  'user.password_changed': {
    category: 'user',
    done: 'changed the password of user',
    attempt: 'change the password of user',
  },
  'user.deleted': { category: 'user', done: 'deleted user', attempt: 'delete user' },
  'task.created': { category: 'task', done: 'created task', attempt: 'create task' },
  'task.updated': { category: 'task', done: 'changed task', attempt: 'change task' },
  'task.deleted': { category: 'task', done: 'deleted task', attempt: 'delete task' },
  'attachment.uploaded': {
    category: 'attachment',
    done: 'uploaded attachment',
    attempt: 'upload attachment',
  },
  'attachment.downloaded': {
    category: 'attachment',
    done: 'downloaded attachment',
    attempt: 'download attachment',
  },
  'attachment.deleted': { category: 'attachment', done: 'deleted attachment', attempt: 'delete attachment' },
  'reminder.created': { category: 'reminder', done: 'set reminder', attempt: 'set reminder' },
  'reminder.deleted': { category: 'reminder', done: 'deleted reminder', attempt: 'delete reminder' },
  'reminder.sent': { category: 'reminder', done: 'sent reminder', attempt: 'send reminder' },
  'access.denied': { category: 'security', done: 'was denied access to', attempt: 'access' },
  'security.rate_limited': { category: 'security', done: 'was rate-limited on', attempt: 'call' },
  'api_key.created': { category: 'security', done: 'created API key', attempt: 'create API key' },
  'api_key.revoked': { category: 'security', done: 'revoked API key', attempt: 'revoke API key' },
  'audit.viewed': { category: 'audit', done: 'viewed the audit trail', attempt: 'view the audit trail' },
  'audit.exported': {
    category: 'audit',
    done: 'exported the audit trail',
    attempt: 'export the audit trail',
  },
  'audit.verified': {
    category: 'audit',
    done: 'verified the audit trail',
    attempt: 'verify the audit trail',
  },
  'audit.retention_applied': {
    category: 'audit',
    done: 'archived and dropped expired audit events',
    attempt: 'apply audit retention',
  },
  'system.started': { category: 'system', done: 'started the application', attempt: 'start the application' },
  'system.stopped': { category: 'system', done: 'stopped the application', attempt: 'stop the application' },
  'error.unhandled': { category: 'error', done: 'hit an unexpected error on', attempt: 'call' },
} as const satisfies Record<string, ActionSpec>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export const AUDIT_ACTION_NAMES = Object.keys(AUDIT_ACTIONS) as AuditAction[];

export const isAuditAction = (value: string): value is AuditAction => Object.hasOwn(AUDIT_ACTIONS, value);

export const categoryOf = (action: AuditAction): AuditCategory => AUDIT_ACTIONS[action].category;
