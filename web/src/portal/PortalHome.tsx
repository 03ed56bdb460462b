import { useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Table from '@cloudscape-design/components/table';
import { navigate, type PageProps } from '../app/router.js';
import { listJobs, type JobSummary } from './portalApi.js';

/** The worker's start page: the labeling jobs of their teams and what is left for them. */
export default function PortalHome(_props: PageProps) {
  const [jobs, setJobs] = useState<JobSummary[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    listJobs().then(
      (r) => setJobs(r.jobs),
      (err: Error) => setError(err.message),
    );
  }, []);
  return (
    <>
      {error && <Alert type="error">{error}</Alert>}
      <Table
        header={
          <Header
            variant="h1"
            counter={jobs ? `(${jobs.length})` : undefined}
            description="Labeling jobs of your teams"
          >
            Labeling tasks
          </Header>
        }
        loading={!jobs && !error}
        loadingText="Loading your jobs"
        items={jobs ?? []}
        empty="No tasks are waiting for you."
        trackBy="name"
        columnDefinitions={[
          { id: 'title', header: 'Task', cell: (j) => j.title },
          { id: 'name', header: 'Job', cell: (j) => j.name },
          { id: 'type', header: 'Type', cell: (j) => j.taskType },
          { id: 'available', header: 'Available', cell: (j) => j.available },
          {
            id: 'limit',
            header: 'Time per task',
            cell: (j) => `${Math.round(j.taskTimeLimitSeconds / 60)} min`,
          },
          {
            id: 'go',
            header: '',
            cell: (j) => (
              <Button
                variant={j.claimedTaskId ? 'primary' : 'normal'}
                disabled={!j.claimedTaskId && j.available === 0}
                onClick={() => navigate(`/portal/jobs/${encodeURIComponent(j.name)}`)}
                ariaLabel={`Start working on ${j.name}`}
              >
                {j.claimedTaskId ? 'Resume' : 'Start working'}
              </Button>
            ),
          },
        ]}
      />
    </>
  );
}
