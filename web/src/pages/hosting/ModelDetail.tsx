import Button from '@cloudscape-design/components/button';
import Link from '@cloudscape-design/components/link';
import { followHandler, href, navigate, type PageProps } from '../../app/router.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import S3Link from '../../components/S3Link.js';
import { formatTime, text } from '../../lib/format.js';

export default function ModelDetail({ params }: PageProps) {
  const name = params.name!;
  return (
    <ResourceDetail
      noun="model"
      name={name}
      describeOp="DescribeModel"
      input={{ ModelName: name }}
      listPath="/models"
      deleteOp="DeleteModel"
      actions={() => (
        <Button
          onClick={() => navigate(`/endpoint-configs/create?model=${encodeURIComponent(name)}`)}
        >
          Create endpoint configuration
        </Button>
      )}
    >
      {(d) => {
        const c = (d.PrimaryContainer ??
          (d.Containers as unknown[] | undefined)?.[0] ??
          {}) as Record<string, unknown>;
        const env = (c.Environment ?? {}) as Record<string, string>;
        return (
          <>
            <Details
              title="Model settings"
              items={[
                { label: 'Name', value: String(d.ModelName) },
                { label: 'ARN', value: String(d.ModelArn) },
                { label: 'Creation time', value: formatTime(d.CreationTime) },
                { label: 'IAM role', value: text(d.ExecutionRoleArn, '-') },
                {
                  label: 'Network isolation',
                  value: d.EnableNetworkIsolation ? 'Enabled' : 'Disabled',
                },
              ]}
            />
            <Details
              title="Container definition"
              items={[
                { label: 'Image', value: text(c.Image, '-') },
                { label: 'Model data', value: <S3Link uri={c.ModelDataUrl} /> },
                { label: 'Mode', value: text(c.Mode, 'SingleModel') },
                {
                  label: 'Environment',
                  value: Object.keys(env).length
                    ? Object.entries(env)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')
                    : '-',
                },
                {
                  label: 'Deploy',
                  value: (
                    <Link
                      href={href(`/endpoint-configs/create?model=${encodeURIComponent(name)}`)}
                      onFollow={followHandler}
                    >
                      Create an endpoint configuration with this model
                    </Link>
                  ),
                },
              ]}
            />
          </>
        );
      }}
    </ResourceDetail>
  );
}
