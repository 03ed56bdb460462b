import { useEffect, useState } from 'react';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Textarea from '@cloudscape-design/components/textarea';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import FormPage from '../../components/FormPage.js';
import NameAndRole from '../../components/NameAndRole.js';
import { DEFAULT_ROLE_ARN } from '../../lib/constants.js';
import { nameProblem } from '../../lib/format.js';

const INSTANCE_TYPES = [
  'ml.t3.medium',
  'ml.t3.large',
  'ml.m5.xlarge',
  'ml.c5.xlarge',
  'ml.g4dn.xlarge',
];
const NONE = '__none__';
const NEW = '__new__';

/** UTF-8 text → base64, as lifecycle configurations carry their scripts. */
const base64 = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)));

export default function CreateNotebookInstance(_props: PageProps) {
  const form = useSubmit();
  const [name, setName] = useState('');
  const [role, setRole] = useState(DEFAULT_ROLE_ARN);
  const [instanceType, setInstanceType] = useState(INSTANCE_TYPES[0]!);
  const [volume, setVolume] = useState('5');
  const [configs, setConfigs] = useState<string[]>([]);
  const [config, setConfig] = useState(NONE);
  const [newConfigName, setNewConfigName] = useState('');
  const [onStart, setOnStart] = useState('#!/bin/bash\nset -e\n');

  useEffect(() => {
    void sagemaker<{
      NotebookInstanceLifecycleConfigs?: { NotebookInstanceLifecycleConfigName: string }[];
    }>('ListNotebookInstanceLifecycleConfigs', { MaxResults: 100 })
      .then((out) =>
        setConfigs(
          (out.NotebookInstanceLifecycleConfigs ?? []).map(
            (c) => c.NotebookInstanceLifecycleConfigName,
          ),
        ),
      )
      .catch(() => setConfigs([]));
  }, []);

  const size = Number(volume);
  const problems = {
    name: nameProblem(name),
    volume:
      Number.isInteger(size) && size >= 5 && size <= 16384
        ? undefined
        : 'Enter a whole number of GB from 5 to 16384.',
    config: config === NEW ? nameProblem(newConfigName) : undefined,
  };
  const show = (problem: string | undefined) => form.show(problem);

  const submit = () =>
    form.submit({
      valid: !Object.values(problems).some(Boolean),
      send: async () => {
        let lifecycle: string | undefined = config === NONE ? undefined : config;
        if (config === NEW) {
          await sagemaker('CreateNotebookInstanceLifecycleConfig', {
            NotebookInstanceLifecycleConfigName: newConfigName,
            OnStart: [{ Content: base64(onStart) }],
          });
          lifecycle = newConfigName;
        }
        return sagemaker('CreateNotebookInstance', {
          NotebookInstanceName: name,
          InstanceType: instanceType,
          RoleArn: role.trim(),
          VolumeSizeInGB: size,
          ...(lifecycle ? { LifecycleConfigName: lifecycle } : {}),
        });
      },
      success: `Created notebook instance ${name}; it is InService in a few seconds.`,
      openPath: '/notebook-instances',
    });

  const options = [
    { value: NONE, label: 'No configuration' },
    ...configs.map((c) => ({ value: c, label: c })),
    { value: NEW, label: 'Create a new lifecycle configuration' },
  ];
  return (
    <FormPage
      title="Create notebook instance"
      submitLabel="Create notebook instance"
      cancelPath="/notebook-instances"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <NameAndRole
        title="Notebook instance settings"
        nameLabel="Notebook instance name"
        nameDescription="Up to 63 letters, digits and hyphens."
        name={name}
        onNameChange={setName}
        nameError={show(problems.name)}
        role={role}
        onRoleChange={setRole}
      />
      <Container header={<Header variant="h2">Instance</Header>}>
        <SpaceBetween size="l">
          <FormField label="Notebook instance type">
            <Select
              selectedOption={{ value: instanceType, label: instanceType }}
              options={INSTANCE_TYPES.map((t) => ({ value: t, label: t }))}
              onChange={(e) => setInstanceType(e.detail.selectedOption.value!)}
            />
          </FormField>
          <FormField
            label="Volume size in GB"
            description="The volume at /home/ec2-user/SageMaker; it survives stop and start."
            errorText={show(problems.volume)}
          >
            <Input type="number" value={volume} onChange={(e) => setVolume(e.detail.value)} />
          </FormField>
          <FormField
            label="Lifecycle configuration"
            description="Shell scripts run in the instance before it starts (time limit: 5 minutes)."
          >
            <Select
              selectedOption={options.find((o) => o.value === config) ?? options[0]!}
              options={options}
              onChange={(e) => setConfig(e.detail.selectedOption.value!)}
              ariaLabel="Lifecycle configuration"
            />
          </FormField>
          {config === NEW && (
            <>
              <FormField label="Lifecycle configuration name" errorText={show(problems.config)}>
                <Input
                  value={newConfigName}
                  onChange={(e) => setNewConfigName(e.detail.value)}
                  ariaLabel="Lifecycle configuration name"
                />
              </FormField>
              <FormField
                label="Start notebook script"
                description="Runs every time the instance starts."
                stretch
              >
                <Textarea
                  value={onStart}
                  onChange={(e) => setOnStart(e.detail.value)}
                  rows={6}
                  ariaLabel="Start notebook script"
                />
              </FormField>
            </>
          )}
        </SpaceBetween>
      </Container>
    </FormPage>
  );
}
