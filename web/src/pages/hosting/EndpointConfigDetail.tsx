import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import Table from '@cloudscape-design/components/table';
import { followHandler, href, navigate, type PageProps } from '../../app/router.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import { formatTime, text } from '../../lib/format.js';

type Variant = Record<string, unknown>;

export default function EndpointConfigDetail({ params }: PageProps) {
  const name = params.name!;
  return (
    <ResourceDetail
      noun="endpoint configuration"
      name={name}
      describeOp="DescribeEndpointConfig"
      input={{ EndpointConfigName: name }}
      listPath="/endpoint-configs"
      deleteOp="DeleteEndpointConfig"
      actions={() => (
        <Button onClick={() => navigate(`/endpoints/create?config=${encodeURIComponent(name)}`)}>
          Create endpoint
        </Button>
      )}
    >
      {(d) => {
        const variants = (d.ProductionVariants as Variant[] | undefined) ?? [];
        const total = variants.reduce((s, v) => s + (Number(v.InitialVariantWeight) || 0), 0);
        return (
          <>
            <Details
              title="Endpoint configuration settings"
              items={[
                { label: 'Name', value: String(d.EndpointConfigName) },
                { label: 'ARN', value: String(d.EndpointConfigArn) },
                { label: 'Creation time', value: formatTime(d.CreationTime) },
              ]}
            />
            <Table<Variant>
              header={<Header variant="h2">Production variants</Header>}
              items={variants}
              trackBy="VariantName"
              ariaLabels={{ tableLabel: 'Production variants' }}
              columnDefinitions={[
                {
                  id: 'name',
                  header: 'Variant',
                  isRowHeader: true,
                  cell: (v) => String(v.VariantName),
                },
                {
                  id: 'model',
                  header: 'Model',
                  cell: (v) => (
                    <Link
                      href={href(`/models/${encodeURIComponent(String(v.ModelName))}`)}
                      onFollow={followHandler}
                    >
                      {String(v.ModelName)}
                    </Link>
                  ),
                },
                {
                  id: 'type',
                  header: 'Instance type',
                  cell: (v) => text(v.InstanceType, v.ServerlessConfig ? 'Serverless' : '-'),
                },
                {
                  id: 'count',
                  header: 'Instances',
                  cell: (v) => text(v.InitialInstanceCount, '-'),
                },
                { id: 'weight', header: 'Weight', cell: (v) => text(v.InitialVariantWeight, '1') },
                {
                  id: 'share',
                  header: 'Traffic',
                  cell: (v) =>
                    total > 0
                      ? `${Math.round(((Number(v.InitialVariantWeight) || 0) / total) * 100)}%`
                      : '-',
                },
              ]}
            />
          </>
        );
      }}
    </ResourceDetail>
  );
}
