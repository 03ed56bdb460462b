import ResourceTable from '../../components/ResourceTable.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatTime } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export default function LabelingJobs(_props: PageProps) {
  return (
    <ResourceTable
      noun="labeling job"
      title="Labeling jobs"
      description="Workers draw bounding boxes on your images; the output manifest feeds training."
      listOp="ListLabelingJobs"
      resultKey="LabelingJobSummaryList"
      nameKey="LabelingJobName"
      detailPath={(n) => `/labeling-jobs/${encodeURIComponent(n)}`}
      createPath="/labeling-jobs/create"
      statuses={['Initializing', 'InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']}
      live
      columns={[
        {
          id: 'status',
          header: 'Status',
          sortingField: 'Status',
          cell: (r) => <StatusBadge status={r.LabelingJobStatus} />,
        },
        {
          id: 'progress',
          header: 'Labeled / total',
          cell: (r) => {
            const c = r.LabelCounters as Record<string, number> | undefined;
            return c
              ? `${c.TotalLabeled ?? 0} / ${(c.TotalLabeled ?? 0) + (c.Unlabeled ?? 0) + (c.FailedNonRetryableError ?? 0)}`
              : '-';
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
