import { lazy } from 'react';
import type { RouteDef } from '../app/router.js';

/**
 * The worker portal's pages (owned by the labeling engineer). Each is lazy-loaded into its own
 * chunk and rendered with the portal layout (no admin navigation). Paths start with '/portal'.
 * Roles: workers see only these; admins may open them too (review is admin-only).
 */
export const portalRoutes: readonly RouteDef[] = [
  {
    path: '/portal',
    layout: 'portal',
    roles: ['worker', 'admin'],
    component: lazy(() => import('./PortalHome.js')),
  },
  {
    path: '/portal/jobs/:job',
    layout: 'portal',
    roles: ['worker', 'admin'],
    component: lazy(() => import('./LabelTask.js')),
  },
  {
    // A worker's own access keys (the console page, in the portal's layout).
    path: '/portal/access-keys',
    layout: 'portal',
    roles: ['worker', 'admin'],
    component: lazy(() => import('../pages/identity/AccessKeys.js')),
  },
  {
    path: '/portal/review/:job',
    layout: 'portal',
    roles: ['admin'],
    component: lazy(() => import('./ReviewJob.js')),
  },
];
