import { useMemo } from 'react';
import Badge from '@cloudscape-design/components/badge';
import SpaceBetween from '@cloudscape-design/components/space-between';
import ResourceTable from '../../components/ResourceTable.js';
import StatusBadge from '../../components/StatusBadge.js';
import { useLiveOne } from '../../app/live.js';
import { formatAgo, formatBytes, formatTime, isIdle } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';
import { useNow } from '../../app/useNow.js';

export const ENDPOINT_STATUSES = [
  'OutOfService',
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'InService',
  'Deleting',
  'Failed',
  'UpdateRollbackFailed',
];

/** One serving endpoint's footprint (the server's ApiaryEndpointsUsage view). */
interface Usage {
  EndpointName: string;
  Instances: number;
  MemoryBytes: number;
  Threads: number;
  Invocations: number;
  LastInvocationTime?: string;
}

export default function Endpoints(_props: PageProps) {
  const watch = useMemo(() => ({ op: 'ApiaryEndpointsUsage', input: {} }), []);
  const usage = useLiveOne<{ Endpoints: Usage[] }>(watch);
  const byName = new Map(
    (usage?.output?.Endpoints ?? []).map((u) => [u.EndpointName.toLowerCase(), u]),
  );
  const of = (r: Record<string, unknown>) => byName.get(String(r.EndpointName).toLowerCase());
  const now = useNow();
  return (
    <ResourceTable
      noun="endpoint"
      title="Endpoints"
      description="Real-time inference: an HTTPS route that runs the models of an endpoint configuration. Endpoints with no invocation for 15 minutes are marked idle: delete them to free what they hold."
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
        {
          id: 'status',
          header: 'Status',
          sortingField: 'Status',
          cell: (r) => <StatusBadge status={r.EndpointStatus} />,
        },
        {
          id: 'last',
          header: 'Last invocation',
          cell: (r) => {
            const u = of(r);
            if (!u) return '-';
            const since = typeof r.LastModifiedTime === 'number' ? r.LastModifiedTime * 1000 : now;
            return (
              <SpaceBetween direction="horizontal" size="xs">
                <span>{formatAgo(u.LastInvocationTime, now)}</span>
                {isIdle(u.LastInvocationTime, since, now) && <Badge color="grey">Idle</Badge>}
              </SpaceBetween>
            );
          },
        },
        {
          id: 'instances',
          header: 'Instances',
          cell: (r) => (of(r) ? String(of(r)!.Instances) : '-'),
        },
        {
          id: 'memory',
          header: 'Memory held',
          cell: (r) => (of(r) ? formatBytes(of(r)!.MemoryBytes) : '-'),
        },
        {
          id: 'created',
          header: 'Creation time',
          sortingField: 'CreationTime',
          cell: (r) => formatTime(r.CreationTime),
        },
        { id: 'modified', header: 'Last updated', cell: (r) => formatTime(r.LastModifiedTime) },
      ]}
    />
  );
}
