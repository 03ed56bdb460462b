import { lazy, type ComponentType } from 'react';
import type { PageProps, RouteDef } from './router.js';
import { portalRoutes } from '../portal/routes.js';

type Loader = () => Promise<{ default: ComponentType<PageProps> }>;

/** A lazily loaded page whose chunk can be fetched ahead (while the session check is in flight). */
function page(load: Loader): Pick<RouteDef, 'component' | 'preload'> {
  let pending: ReturnType<Loader> | undefined;
  const once = () => (pending ??= load());
  return { component: lazy(once), preload: once };
}

/** Every console page is its own chunk; the shell loads only the one the URL names. */
export const consoleRoutes: readonly RouteDef[] = [
  { path: '/', ...page(() => import('../pages/Dashboard.js')) },
  { path: '/data', ...page(() => import('../pages/data/Buckets.js')) },
  { path: '/access-keys', ...page(() => import('../pages/identity/AccessKeys.js')) },
  { path: '/data/:bucket/preview', ...page(() => import('../pages/data/ObjectPreview.js')) },
  { path: '/data/:bucket', ...page(() => import('../pages/data/BucketBrowser.js')) },
  { path: '/training-jobs', ...page(() => import('../pages/training/TrainingJobs.js')) },
  {
    path: '/training-jobs/create',
    ...page(() => import('../pages/training/CreateTrainingJob.js')),
  },
  { path: '/training-jobs/:name', ...page(() => import('../pages/training/TrainingJobDetail.js')) },
  { path: '/tuning-jobs', ...page(() => import('../pages/tuning/TuningJobs.js')) },
  { path: '/tuning-jobs/create', ...page(() => import('../pages/tuning/CreateTuningJob.js')) },
  { path: '/tuning-jobs/:name', ...page(() => import('../pages/tuning/TuningJobDetail.js')) },
  { path: '/labeling-jobs', ...page(() => import('../pages/labeling/LabelingJobs.js')) },
  {
    path: '/labeling-jobs/create',
    ...page(() => import('../pages/labeling/CreateLabelingJob.js')),
  },
  { path: '/labeling-jobs/:name', ...page(() => import('../pages/labeling/LabelingJobDetail.js')) },
  { path: '/models', ...page(() => import('../pages/hosting/Models.js')) },
  { path: '/models/create', ...page(() => import('../pages/hosting/CreateModel.js')) },
  { path: '/models/:name', ...page(() => import('../pages/hosting/ModelDetail.js')) },
  { path: '/endpoint-configs', ...page(() => import('../pages/hosting/EndpointConfigs.js')) },
  {
    path: '/endpoint-configs/create',
    ...page(() => import('../pages/hosting/CreateEndpointConfig.js')),
  },
  {
    path: '/endpoint-configs/:name',
    ...page(() => import('../pages/hosting/EndpointConfigDetail.js')),
  },
  { path: '/endpoints', ...page(() => import('../pages/hosting/Endpoints.js')) },
  { path: '/endpoints/create', ...page(() => import('../pages/hosting/CreateEndpoint.js')) },
  { path: '/endpoints/:name', ...page(() => import('../pages/hosting/EndpointDetail.js')) },
  { path: '/notebook-instances', ...page(() => import('../pages/notebooks/NotebookInstances.js')) },
  {
    path: '/notebook-instances/create',
    ...page(() => import('../pages/notebooks/CreateNotebookInstance.js')),
  },
];

export const routes: readonly RouteDef[] = [...consoleRoutes, ...portalRoutes];
