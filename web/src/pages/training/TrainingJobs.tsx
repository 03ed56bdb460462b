import ResourceTable from '../../components/ResourceTable.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatDuration, formatTime, text } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export default function TrainingJobs(_props: PageProps) {
  return (
    <ResourceTable
      noun="training job"
      title="Training jobs"
      description="Runs of an algorithm (the built-in object detector or your own image) over your data."
      listOp="ListTrainingJobs"
      resultKey="TrainingJobSummaries"
      nameKey="TrainingJobName"
      detailPath={(n) => `/training-jobs/${encodeURIComponent(n)}`}
      createPath="/training-jobs/create"
      statuses={['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']}
      live
      deleteOp="DeleteTrainingJob"
      deleteInput={(r) => ({ TrainingJobName: r.TrainingJobName })}
      columns={[
        {
          id: 'status',
          header: 'Status',
          sortingField: 'Status',
          cell: (r) => <StatusBadge status={r.TrainingJobStatus} />,
        },
        { id: 'secondary', header: 'Secondary status', cell: (r) => text(r.SecondaryStatus, '-') },
        {
          id: 'created',
          header: 'Creation time',
          sortingField: 'CreationTime',
          cell: (r) => formatTime(r.CreationTime),
        },
        {
          id: 'duration',
          header: 'Duration',
          cell: (r) =>
            typeof r.CreationTime === 'number' && typeof r.TrainingEndTime === 'number'
              ? formatDuration(r.TrainingEndTime - r.CreationTime)
              : '-',
        },
      ]}
    />
  );
}
