import { useMemo } from 'react';
import Box from '@cloudscape-design/components/box';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Container from '@cloudscape-design/components/container';
import ContentLayout from '@cloudscape-design/components/content-layout';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { useLive, watchKey, type Watch } from '../app/live.js';
import { followHandler, href, type PageProps } from '../app/router.js';

interface Tile {
  readonly title: string;
  readonly path: string;
  readonly watch: Watch;
  readonly key: string;
}

const TILES: readonly Tile[] = [
  {
    title: 'Labeling jobs in progress',
    path: '/labeling-jobs',
    watch: { op: 'ListLabelingJobs', input: { MaxResults: 100, StatusEquals: 'InProgress' } },
    key: 'LabelingJobSummaryList',
  },
  {
    title: 'Training jobs in progress',
    path: '/training-jobs',
    watch: { op: 'ListTrainingJobs', input: { MaxResults: 100, StatusEquals: 'InProgress' } },
    key: 'TrainingJobSummaries',
  },
  {
    title: 'Tuning jobs in progress',
    path: '/tuning-jobs',
    watch: {
      op: 'ListHyperParameterTuningJobs',
      input: { MaxResults: 100, StatusEquals: 'InProgress' },
    },
    key: 'HyperParameterTuningJobSummaries',
  },
  {
    title: 'Models',
    path: '/models',
    watch: { op: 'ListModels', input: { MaxResults: 100 } },
    key: 'Models',
  },
  {
    title: 'Endpoints in service',
    path: '/endpoints',
    watch: { op: 'ListEndpoints', input: { MaxResults: 100, StatusEquals: 'InService' } },
    key: 'Endpoints',
  },
];

const STEPS: readonly [string, string, string][] = [
  ['1. Upload images', '/data', 'Create a bucket and drop your images on it.'],
  [
    '2. Label them',
    '/labeling-jobs/create',
    'A labeling job: workers draw boxes in the labeling portal.',
  ],
  ['3. Split', '/labeling-jobs', 'Split the output manifest 80/20 into train and validation.'],
  ['4. Train', '/training-jobs/create', 'Train the built-in object detector on the manifests.'],
  ['5. Tune', '/tuning-jobs/create', 'Search learning rate, batch size and optimizer.'],
  ['6. Deploy', '/models/create', 'Model → endpoint configuration → endpoint.'],
  ['7. Test', '/endpoints', 'Send an image to the endpoint and see the boxes.'],
];

export default function Dashboard(_props: PageProps) {
  const watches = useMemo(() => TILES.map((t) => t.watch), []);
  const live = useLive<Record<string, unknown>>(watches);
  return (
    <ContentLayout
      header={
        <Header
          variant="h1"
          description="A self-hosted machine-learning platform that speaks SageMaker's API."
        >
          Apiary
        </Header>
      }
    >
      <SpaceBetween size="l">
        <Container
          header={
            <Header variant="h2" description="Live counts.">
              Overview
            </Header>
          }
        >
          <ColumnLayout columns={5} variant="text-grid">
            {TILES.map((t) => {
              const v = live.get(watchKey(t.watch));
              const n = v?.output
                ? ((v.output[t.key] as unknown[] | undefined)?.length ?? 0)
                : undefined;
              return (
                <div key={t.title}>
                  <Box variant="awsui-key-label">{t.title}</Box>
                  <Link
                    variant="awsui-value-large"
                    href={href(t.path)}
                    onFollow={followHandler}
                    ariaLabel={`${t.title}: ${v?.error ? 'unavailable' : (n ?? 'loading')}`}
                  >
                    {v?.error ? '–' : n === undefined ? '…' : n >= 100 ? '100+' : String(n)}
                  </Link>
                  {v?.error && <Box variant="small">{v.error.message.slice(0, 120)}</Box>}
                </div>
              );
            })}
          </ColumnLayout>
        </Container>
        <Container
          header={
            <Header variant="h2" description="The tutorial's journey, step by step.">
              Get started
            </Header>
          }
        >
          <ColumnLayout columns={4} variant="text-grid">
            {STEPS.map(([title, path, text]) => (
              <div key={title}>
                <Link href={href(path)} onFollow={followHandler} fontSize="heading-s">
                  {title}
                </Link>
                <Box variant="p">{text}</Box>
              </div>
            ))}
          </ColumnLayout>
        </Container>
      </SpaceBetween>
    </ContentLayout>
  );
}
