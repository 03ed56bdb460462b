import ResourceTable from '../../components/ResourceTable.js';
import { formatTime, text } from '../../lib/format.js';
import type { PageProps } from '../../app/router.js';

export default function Models(_props: PageProps) {
  return (
    <ResourceTable
      noun="model"
      title="Models"
      description="A model names the inference code (image) and the trained artifact (model.tar.gz) an endpoint serves."
      listOp="ListModels"
      resultKey="Models"
      nameKey="ModelName"
      detailPath={(n) => `/models/${encodeURIComponent(n)}`}
      createPath="/models/create"
      deleteOp="DeleteModel"
      deleteInput={(r) => ({ ModelName: r.ModelName })}
      columns={[
        { id: 'arn', header: 'ARN', cell: (r) => text(r.ModelArn, '') },
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
