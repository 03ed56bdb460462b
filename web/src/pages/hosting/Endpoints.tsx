import ResourceTable from '../../components/ResourceTable.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatTime } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export const ENDPOINT_STATUSES = ['OutOfService', 'Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'InService', 'Deleting', 'Failed', 'UpdateRollbackFailed'];

export default function Endpoints(_props: PageProps) {
  return (
    <ResourceTable
      noun="endpoint"
      title="Endpoints"
      description="Real-time inference: an HTTPS route that runs the models of an endpoint configuration."
      listOp="ListEndpoints"
      resultKey="Endpoints"
      nameKey="EndpointName"
      detailPath={(n) => `/endpoints/${encodeURIComponent(n)}`}
      createPath="/endpoints/create"
      deleteOp="DeleteEndpoint"
      deleteInput={(r) => ({ EndpointName: r.EndpointName })}
      statuses={ENDPOINT_STATUSES}
      live
      columns={[
        { id: 'status', header: 'Status', sortingField: 'Status', cell: (r) => <StatusBadge status={r.EndpointStatus} /> },
        { id: 'created', header: 'Creation time', sortingField: 'CreationTime', cell: (r) => formatTime(r.CreationTime) },
        { id: 'modified', header: 'Last updated', cell: (r) => formatTime(r.LastModifiedTime) },
      ]}
    />
  );
}
