import { useState } from 'react';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import AlgorithmFields, { type AlgorithmSource } from '../../components/AlgorithmFields.js';
import FormPage from '../../components/FormPage.js';
import { DEFAULT_ROLE_ARN, OBJECT_DETECTION_IMAGE } from '../../lib/constants.js';
import { nameProblem, parseS3 } from '../../lib/format.js';

export default function CreateModel({ query }: PageProps) {
  const form = useSubmit();
  const [name, setName] = useState(query.get('name') ?? '');
  const [kind, setKind] = useState<AlgorithmSource>('builtin');
  const [image, setImage] = useState('');
  const [modelData, setModelData] = useState(query.get('modelDataUrl') ?? '');
  const [role, setRole] = useState(DEFAULT_ROLE_ARN);
  const [env, setEnv] = useState<{ key: string; value: string }[]>([]);

  const problems = {
    name: nameProblem(name),
    image: kind === 'custom' && image.trim() === '' ? 'Enter the inference image.' : undefined,
    modelData: modelData.trim() !== '' && !parseS3(modelData) ? 'Enter an S3 URI such as s3://bucket/output/job/output/model.tar.gz.' : kind === 'builtin' && modelData.trim() === '' ? 'The built-in algorithm needs the model.tar.gz a training job wrote.' : undefined,
  };
  const show = form.show;

  const submit = () => {
    const environment = Object.fromEntries(env.filter((e) => e.key.trim() !== '').map((e) => [e.key.trim(), e.value]));
    return form.submit({
      valid: !Object.values(problems).some(Boolean),
      send: () =>
        sagemaker('CreateModel', {
        ModelName: name,
        PrimaryContainer: {
          Image: kind === 'builtin' ? OBJECT_DETECTION_IMAGE : image.trim(),
          ...(modelData.trim() ? { ModelDataUrl: modelData.trim() } : {}),
          ...(Object.keys(environment).length ? { Environment: environment } : {}),
        },
        ...(role.trim() ? { ExecutionRoleArn: role.trim() } : {}),
      }),
      success: `Created model ${name}.`,
      then: `/models/${encodeURIComponent(name)}`,
    });
  };

  return (
    <FormPage title="Create model" submitLabel="Create model" cancelPath="/models" busy={form.busy} error={form.error} onSubmit={() => void submit()}>
      <Container header={<Header variant="h2">Model settings</Header>}>
        <SpaceBetween size="l">
          <FormField label="Model name" description="Up to 63 letters, digits and hyphens." errorText={show(problems.name)}>
            <Input value={name} onChange={(e) => setName(e.detail.value)} ariaRequired />
          </FormField>
          <FormField label="IAM role" description="Recorded as SageMaker does; Apiary does not use IAM.">
            <Input value={role} onChange={(e) => setRole(e.detail.value)} />
          </FormField>
        </SpaceBetween>
      </Container>
      <Container header={<Header variant="h2">Container definition</Header>}>
        <SpaceBetween size="l">
          <AlgorithmFields kind="inference" source={kind} onSourceChange={setKind} image={image} onImageChange={setImage} imageError={show(problems.image)} />
          <FormField label="Location of model artifacts" description="The model.tar.gz of a training job." errorText={show(problems.modelData)}>
            <Input value={modelData} onChange={(e) => setModelData(e.detail.value)} placeholder="s3://bucket/output/job/output/model.tar.gz" />
          </FormField>
          <FormField label="Environment variables" stretch>
            <AttributeEditor
              items={env}
              onAddButtonClick={() => setEnv([...env, { key: '', value: '' }])}
              onRemoveButtonClick={(e) => setEnv(env.filter((_, i) => i !== e.detail.itemIndex))}
              addButtonText="Add variable"
              removeButtonText="Remove"
              empty="No environment variables."
              definition={[
                { label: 'Key', control: (item, i) => <Input value={item.key} ariaLabel={`Variable ${i + 1} name`} onChange={(e) => setEnv(env.map((x, j) => (j === i ? { ...x, key: e.detail.value } : x)))} /> },
                { label: 'Value', control: (item, i) => <Input value={item.value} ariaLabel={`Variable ${i + 1} value`} onChange={(e) => setEnv(env.map((x, j) => (j === i ? { ...x, value: e.detail.value } : x)))} /> },
              ]}
            />
          </FormField>
        </SpaceBetween>
      </Container>
    </FormPage>
  );
}
