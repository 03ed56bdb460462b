import { useState } from 'react';
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
import NameAndRole from '../../components/NameAndRole.js';
import KeyValueEditor, { type KeyValueRow } from '../../components/KeyValueEditor.js';
import { DEFAULT_ROLE_ARN, OBJECT_DETECTION_IMAGE } from '../../lib/constants.js';
import { nameProblem, parseS3 } from '../../lib/format.js';

export default function CreateModel({ query }: PageProps) {
  const form = useSubmit();
  const [name, setName] = useState(query.get('name') ?? '');
  const [kind, setKind] = useState<AlgorithmSource>('builtin');
  const [image, setImage] = useState('');
  const [modelData, setModelData] = useState(query.get('modelDataUrl') ?? '');
  const [role, setRole] = useState(DEFAULT_ROLE_ARN);
  const [env, setEnv] = useState<KeyValueRow[]>([]);

  const problems = {
    name: nameProblem(name),
    image: kind === 'custom' && image.trim() === '' ? 'Enter the inference image.' : undefined,
    modelData:
      modelData.trim() !== '' && !parseS3(modelData)
        ? 'Enter an S3 URI such as s3://bucket/output/job/output/model.tar.gz.'
        : kind === 'builtin' && modelData.trim() === ''
          ? 'The built-in algorithm needs the model.tar.gz a training job wrote.'
          : undefined,
  };
  const show = form.show;

  const submit = () => {
    const environment = Object.fromEntries(
      env.filter((e) => e.key.trim() !== '').map((e) => [e.key.trim(), e.value]),
    );
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
      openPath: `/models/${encodeURIComponent(name)}`,
    });
  };

  return (
    <FormPage
      title="Create model"
      submitLabel="Create model"
      cancelPath="/models"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <NameAndRole
        title="Model settings"
        nameLabel="Model name"
        nameDescription="Up to 63 letters, digits and hyphens."
        name={name}
        onNameChange={setName}
        nameError={show(problems.name)}
        role={role}
        onRoleChange={setRole}
      />
      <Container header={<Header variant="h2">Container definition</Header>}>
        <SpaceBetween size="l">
          <AlgorithmFields
            kind="inference"
            source={kind}
            onSourceChange={setKind}
            image={image}
            onImageChange={setImage}
            imageError={show(problems.image)}
          />
          <FormField
            label="Location of model artifacts"
            description="The model.tar.gz of a training job."
            errorText={show(problems.modelData)}
          >
            <Input
              value={modelData}
              onChange={(e) => setModelData(e.detail.value)}
              placeholder="s3://bucket/output/job/output/model.tar.gz"
            />
          </FormField>
          <FormField label="Environment variables" stretch>
            <KeyValueEditor
              rows={env}
              onChange={setEnv}
              noun="Variable"
              addButtonText="Add variable"
              empty="No environment variables."
            />
          </FormField>
        </SpaceBetween>
      </Container>
    </FormPage>
  );
}
