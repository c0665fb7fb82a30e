import { ClsStore } from 'nestjs-cls';

export type ActorType = 'user' | 'system' | 'api_key' | 'anonymous';

export interface Actor {
  type: ActorType;
  /** User id or API key id; null for system and anonymous. */
  id: string | null;
  /** Display name at the time of the request (the user's name, the API key's name, 'system'). */
  name: string | null;
  /** The user's email at the time of the request. */
  email?: string | null;
  role?: 'admin' | 'user';
  /** The token id (`jti`) for users. */
  sessionId?: string;
  /** Scopes for API keys. */
  scopes?: string[];
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null, name: 'System' };
export const ANONYMOUS_ACTOR: Actor = { type: 'anonymous', id: null, name: null };

/** What the async-local request context holds for the lifetime of one request. */
export interface RequestContextStore extends ClsStore {
  requestId: string;
  startedAt: number;
  ip: string | null;
  userAgent: string | null;
  method: string | null;
  path: string | null;
  actor: Actor;
  /** A credential was presented (used to tell a refused token from no token). */
  credentialPresented: boolean;
}
