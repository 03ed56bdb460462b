import ResourceTable from '../../components/ResourceTable.js';
import { formatTime, text } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export default function EndpointConfigs(_props: PageProps) {
  return (
    <ResourceTable
      noun="endpoint configuration"
      title="Endpoint configurations"
      description="Production variants: which models an endpoint serves, on what instances, with what share of the traffic."
      listOp="ListEndpointConfigs"
      resultKey="EndpointConfigs"
      nameKey="EndpointConfigName"
      detailPath={(n) => `/endpoint-configs/${encodeURIComponent(n)}`}
      createPath="/endpoint-configs/create"
      createLabel="Create endpoint configuration"
      deleteOp="DeleteEndpointConfig"
      deleteInput={(r) => ({ EndpointConfigName: r.EndpointConfigName })}
      columns={[
        { id: 'arn', header: 'ARN', cell: (r) => text(r.EndpointConfigArn, '') },
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
