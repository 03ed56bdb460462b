/** URL pattern matching of the console's router (pure; unit-tested). */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * Matches an app path against a route pattern (`:x` one segment, a trailing `*` the rest);
 * returns the decoded params, or undefined (also for a malformed %-escape).
 */
export function matchPath(pattern: string, path: string): RouteParams | undefined {
  try {
    return match(pattern, path);
  } catch {
    return undefined;
  }
}

function match(pattern: string, path: string): RouteParams | undefined {
  const pp = pattern.split('/').filter(Boolean);
  const sp = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < pp.length; i++) {
    const p = pp[i]!;
    if (p === '*') {
      params['*'] = sp.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const s = sp[i];
    if (s === undefined) return undefined;
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(s);
    else if (p !== s) return undefined;
  }
  return sp.length === pp.length ? params : undefined;
}
