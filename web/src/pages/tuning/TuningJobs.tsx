import ResourceTable from '../../components/ResourceTable.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatTime, text } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export default function TuningJobs(_props: PageProps) {
  return (
    <ResourceTable
      noun="tuning job"
      title="Hyperparameter tuning jobs"
      description="Searches hyperparameter ranges with many training jobs and keeps the best."
      listOp="ListHyperParameterTuningJobs"
      resultKey="HyperParameterTuningJobSummaries"
      nameKey="HyperParameterTuningJobName"
      detailPath={(n) => `/tuning-jobs/${encodeURIComponent(n)}`}
      createPath="/tuning-jobs/create"
      statuses={['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']}
      live
      deleteOp="DeleteHyperParameterTuningJob"
      deleteInput={(r) => ({ HyperParameterTuningJobName: r.HyperParameterTuningJobName })}
      columns={[
        {
          id: 'status',
          header: 'Status',
          sortingField: 'Status',
          cell: (r) => <StatusBadge status={r.HyperParameterTuningJobStatus} />,
        },
        { id: 'strategy', header: 'Strategy', cell: (r) => text(r.Strategy, '-') },
        {
          id: 'jobs',
          header: 'Training jobs',
          cell: (r) => {
            const c = r.TrainingJobStatusCounters as Record<string, number> | undefined;
            return c ? `${c.Completed ?? 0} completed, ${c.InProgress ?? 0} in progress` : '-';
          },
        },
        {
          id: 'created',
          header: 'Creation time',
          sortingField: 'CreationTime',
          cell: (r) => formatTime(r.CreationTime),
        },
      ]}
    />
  );
}
