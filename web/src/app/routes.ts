import { lazy } from 'react';
import type { RouteDef } from './router.js';
import { portalRoutes } from '../portal/routes.js';

/** Every console page is its own chunk; the shell loads only the one the URL names. */
export const consoleRoutes: readonly RouteDef[] = [
  { path: '/', component: lazy(() => import('../pages/Dashboard.js')) },
  { path: '/data', component: lazy(() => import('../pages/data/Buckets.js')) },
  { path: '/data/:bucket/preview', component: lazy(() => import('../pages/data/ObjectPreview.js')) },
  { path: '/data/:bucket', component: lazy(() => import('../pages/data/BucketBrowser.js')) },
  { path: '/training-jobs', component: lazy(() => import('../pages/training/TrainingJobs.js')) },
  { path: '/training-jobs/create', component: lazy(() => import('../pages/training/CreateTrainingJob.js')) },
  { path: '/training-jobs/:name', component: lazy(() => import('../pages/training/TrainingJobDetail.js')) },
  { path: '/tuning-jobs', component: lazy(() => import('../pages/tuning/TuningJobs.js')) },
  { path: '/tuning-jobs/create', component: lazy(() => import('../pages/tuning/CreateTuningJob.js')) },
  { path: '/tuning-jobs/:name', component: lazy(() => import('../pages/tuning/TuningJobDetail.js')) },
  { path: '/labeling-jobs', component: lazy(() => import('../pages/labeling/LabelingJobs.js')) },
  { path: '/labeling-jobs/create', component: lazy(() => import('../pages/labeling/CreateLabelingJob.js')) },
  { path: '/labeling-jobs/:name', component: lazy(() => import('../pages/labeling/LabelingJobDetail.js')) },
  { path: '/models', component: lazy(() => import('../pages/hosting/Models.js')) },
  { path: '/models/create', component: lazy(() => import('../pages/hosting/CreateModel.js')) },
  { path: '/models/:name', component: lazy(() => import('../pages/hosting/ModelDetail.js')) },
  { path: '/endpoint-configs', component: lazy(() => import('../pages/hosting/EndpointConfigs.js')) },
  { path: '/endpoint-configs/create', component: lazy(() => import('../pages/hosting/CreateEndpointConfig.js')) },
  { path: '/endpoint-configs/:name', component: lazy(() => import('../pages/hosting/EndpointConfigDetail.js')) },
  { path: '/endpoints', component: lazy(() => import('../pages/hosting/Endpoints.js')) },
  { path: '/endpoints/create', component: lazy(() => import('../pages/hosting/CreateEndpoint.js')) },
  { path: '/endpoints/:name', component: lazy(() => import('../pages/hosting/EndpointDetail.js')) },
];

export const routes: readonly RouteDef[] = [...consoleRoutes, ...portalRoutes];
