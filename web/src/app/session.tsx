import { createContext, useContext } from 'react';

export interface User {
  readonly username: string;
  readonly roles: readonly string[];
}

export interface Session {
  readonly user: User;
  logout(): Promise<void>;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** Reads the identity API's answer leniently (role or roles; username or name). */
export function userFrom(body: unknown): User | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const u = (b.user && typeof b.user === 'object' ? b.user : b) as Record<string, unknown>;
  const username = u.username ?? u.name ?? u.principal;
  if (typeof username !== 'string') return undefined;
  const roles = Array.isArray(u.roles)
    ? u.roles.filter((r): r is string => typeof r === 'string')
    : typeof u.role === 'string'
      ? [u.role]
      : [];
  return { username, roles };
}

export function csrfFrom(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const t = b.csrfToken ?? b.csrf;
  return typeof t === 'string' ? t : undefined;
}
