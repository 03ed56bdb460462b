import { useEffect, useState, type ComponentType, type LazyExoticComponent } from 'react';
import { matchPath, type RouteParams } from '../lib/match-path.js';

export { matchPath, type RouteParams };

/** Where the console is mounted (vite `base`), without the trailing slash. */
export const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');

/** A full href for an app path ('/training-jobs' → '/_apiary/ui/training-jobs'), for real links. */
export function href(path: string): string {
  return BASE + (path.startsWith('/') ? path : `/${path}`);
}

/** The app path of the current location ('/_apiary/ui/models/x' → '/models/x'). */
export function currentPath(): string {
  const p = window.location.pathname;
  const rest = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rest === '' ? '/' : rest;
}

const NAVIGATE = 'apiary:navigate';

/** Client-side navigation; `path` is an app path or a full href under BASE, with an optional query. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const target = path.startsWith(BASE + '/') || path === BASE ? path : href(path);
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  window.dispatchEvent(new Event(NAVIGATE));
  window.scrollTo(0, 0);
}

/** For Cloudscape's onFollow events: keep plain clicks in the SPA, let modified clicks open tabs. */
export function followHandler(event: CustomEvent<{ href?: string; external?: boolean }>): void {
  const target = event.detail.href;
  if (!target || event.detail.external) return;
  event.preventDefault();
  navigate(target);
}

export interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
}

export function useLocation(): Location {
  const [loc, setLoc] = useState<Location>(() => ({
    path: currentPath(),
    query: new URLSearchParams(window.location.search),
  }));
  useEffect(() => {
    const update = () =>
      setLoc({ path: currentPath(), query: new URLSearchParams(window.location.search) });
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return loc;
}

export interface PageProps {
  readonly params: RouteParams;
  readonly query: URLSearchParams;
}

/**
 * A page of the console. `layout: 'console'` pages get the side navigation (admins);
 * `'portal'` pages get the worker portal's plain layout; `'bare'` pages (login) get none.
 */
export interface RouteDef {
  /** '/training-jobs/:name' — `:x` matches one path segment, a trailing `*` the rest. */
  readonly path: string;
  readonly component: LazyExoticComponent<ComponentType<PageProps>>;
  /** Fetches the page's chunk ahead of rendering (optional). */
  readonly preload?: () => Promise<unknown>;
  readonly layout?: 'console' | 'portal' | 'bare';
  /** Roles allowed to see the page; default ['admin']. */
  readonly roles?: readonly string[];
}

export function findRoute(
  routes: readonly RouteDef[],
  path: string,
): { route: RouteDef; params: RouteParams } | undefined {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return undefined;
}
