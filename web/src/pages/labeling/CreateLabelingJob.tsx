import { useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import RadioGroup from '@cloudscape-design/components/radio-group';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Textarea from '@cloudscape-design/components/textarea';
import Wizard from '@cloudscape-design/components/wizard';
import { API, apiFetch, apiJson, errorMessage, sagemaker } from '../../app/api.js';
import { navigate, type PageProps } from '../../app/router.js';
import { objectUrl } from '../../app/upload.js';
import { useSubmit } from '../../app/useSubmit.js';
import { DEFAULT_ROLE_ARN } from '../../lib/constants.js';
import { nameProblem, parseS3 } from '../../lib/format.js';
import {
  builtInTask,
  chainDefaults,
  chainedTask,
  type ChainKind,
  labelAttributeName,
  labelCategoryConfig,
  labelProblems,
  WIZARD_TASK_TYPES,
  type WizardTaskType,
} from '../../lib/labeling-form.js';

interface Team {
  WorkteamName: string;
  WorkteamArn: string;
}

/** The wizard's starting values per task type (the tutorial's bees). */
const TASK_DEFAULTS: Readonly<
  Record<
    WizardTaskType,
    { labels: readonly string[]; title: string; short: string; good: string; bad: string }
  >
> = {
  'bounding-box': {
    labels: ['bee'],
    title: 'Draw a box around each bee',
    short: 'Draw a tight box around every bee you can see.',
    good: 'The box touches the bee on all four sides, wings included.',
    bad: 'A loose box with lots of background, or one box around two bees.',
  },
  'image-classification': {
    labels: ['bee', 'no-bee'],
    title: 'Is there a bee in this picture?',
    short: 'Choose the one label that fits the picture.',
    good: 'A picture with a bee, even a small one at the edge: bee.',
    bad: 'Choosing bee for a flower or a wasp.',
  },
  'image-classification-multilabel': {
    labels: ['bee', 'flower', 'leaf'],
    title: 'What do you see in this picture?',
    short: 'Choose every label that applies to the picture.',
    good: 'A bee on a flower: bee and flower.',
    bad: 'Leaving out a label because the object is small.',
  },
};

export default function CreateLabelingJob({ query }: PageProps) {
  const form = useSubmit();
  const [step, setStep] = useState(0);
  const [name, setName] = useState('');
  const [inputPrefix, setInputPrefix] = useState('');
  const [manifest, setManifest] = useState('');
  const [setupBusy, setSetupBusy] = useState(false);
  const [setupMessage, setSetupMessage] = useState<string>();
  const [output, setOutput] = useState('');
  // Unset until the user types one: then the job name, as SageMaker's console does.
  const [typedAttribute, setTypedAttribute] = useState<string>();
  const attribute = labelAttributeName(name, typedAttribute);
  const [taskType, setTaskType] = useState<WizardTaskType>('bounding-box');
  const [teams, setTeams] = useState<Team[]>([]);
  const [team, setTeam] = useState<Team>();
  const [newTeam, setNewTeam] = useState('');
  const [newGroup, setNewGroup] = useState('labelers');
  const [workersPerObject, setWorkersPerObject] = useState('1');
  const [timeLimit, setTimeLimit] = useState('300');
  const [labels, setLabels] = useState<string[]>([...TASK_DEFAULTS['bounding-box'].labels]);
  const [title, setTitle] = useState(TASK_DEFAULTS['bounding-box'].title);
  const [shortInstr, setShortInstr] = useState(TASK_DEFAULTS['bounding-box'].short);
  const [good, setGood] = useState(TASK_DEFAULTS['bounding-box'].good);
  const [bad, setBad] = useState(TASK_DEFAULTS['bounding-box'].bad);
  const [full, setFull] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [tried, setTried] = useState<Set<number>>(new Set());

  // "Chain: adjust / verify" on a job's page opens the wizard with ?chain=<job>&type=<kind>.
  const chainFrom = query.get('chain') ?? undefined;
  const chainKind: ChainKind = query.get('type') === 'verification' ? 'verification' : 'adjustment';
  const [audit, setAudit] = useState<string>();
  useEffect(() => {
    if (!chainFrom) return;
    void (async () => {
      try {
        const d = await sagemaker<Record<string, any>>('DescribeLabelingJob', {
          LabelingJobName: chainFrom,
        });
        let sourceLabels: string[] = [];
        const cfg = parseS3(String(d.LabelCategoryConfigS3Uri ?? ''));
        if (cfg) {
          const r = await apiFetch(objectUrl(cfg.bucket, cfg.key));
          const parsed = (await r.json()) as { labels?: { label: string }[] };
          sourceLabels = (parsed.labels ?? []).map((l) => l.label);
        }
        const c = chainDefaults(
          {
            name: chainFrom,
            attribute: String(d.LabelAttributeName),
            outputUri: String(d.LabelingJobOutput?.OutputDatasetS3Uri ?? ''),
            labels: sourceLabels,
          },
          chainKind,
        );
        setName(c.name);
        setTypedAttribute(c.attribute);
        setManifest(c.manifest);
        setOutput(String(d.OutputConfig?.S3OutputPath ?? ''));
        setLabels(c.labels);
        setTitle(c.title);
        setShortInstr(c.short);
        setAudit(c.audit);
      } catch (err) {
        setSetupMessage(errorMessage(err));
      }
    })();
  }, [chainFrom, chainKind]);

  useEffect(() => {
    sagemaker<{ Workteams: Team[] }>('ListWorkteams', { MaxResults: 100 })
      .then((r) => {
        setTeams(r.Workteams);
        if (r.Workteams[0]) setTeam(r.Workteams[0]);
      })
      .catch(() => undefined);
    fetch('/_apiary/health')
      .then((r) => r.json() as Promise<{ region?: string }>)
      .then((h) => h.region && setRegion(h.region))
      .catch(() => undefined);
  }, []);

  const problems: Record<number, Record<string, string | undefined>> = {
    0: {
      name: nameProblem(name),
      manifest:
        parseS3(manifest) && manifest.endsWith('.manifest')
          ? undefined
          : 'Enter the input manifest, or complete the data setup from a prefix.',
      output: parseS3(output) ? undefined : 'Enter an S3 location such as s3://bucket/labels/.',
      attribute:
        /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$/.test(attribute) && !attribute.endsWith('-metadata')
          ? undefined
          : 'Use 1-127 letters, digits and hyphens (not ending in -metadata).',
    },
    1: {},
    2: {
      team:
        team || (newTeam && newGroup)
          ? undefined
          : 'Choose a work team, or name a new one and its group.',
      newTeam: !team && newTeam ? nameProblem(newTeam) : undefined,
      workers:
        /^\d+$/.test(workersPerObject) &&
        Number(workersPerObject) >= 1 &&
        Number(workersPerObject) <= 9
          ? undefined
          : 'Enter 1 to 9 workers.',
      time:
        /^\d+$/.test(timeLimit) && Number(timeLimit) >= 30 && Number(timeLimit) <= 28800
          ? undefined
          : 'Enter 30 to 28800 seconds.',
    },
    3: {
      labels: labelProblems(labels, taskType),
      title: title.trim() ? undefined : 'Enter a task title.',
    },
  };
  // Switching the task type replaces the defaults the user has not changed.
  const chooseTaskType = (next: WizardTaskType) => {
    const d = TASK_DEFAULTS[taskType];
    const n = TASK_DEFAULTS[next];
    if (title === d.title) setTitle(n.title);
    if (shortInstr === d.short) setShortInstr(n.short);
    if (good === d.good) setGood(n.good);
    if (bad === d.bad) setBad(n.bad);
    if (labels.join('\n') === d.labels.join('\n')) setLabels([...n.labels]);
    setTaskType(next);
  };
  const show = (s: number, k: string) => (tried.has(s) ? problems[s]?.[k] : undefined);
  const stepOk = (s: number) => !Object.values(problems[s] ?? {}).some(Boolean);

  const completeSetup = async () => {
    setSetupBusy(true);
    setSetupMessage(undefined);
    try {
      const uri = inputPrefix.trim().endsWith('/') ? inputPrefix.trim() : `${inputPrefix.trim()}/`;
      const r = await apiJson<{ manifest: string; count: number }>(`${API}/manifests/from-prefix`, {
        method: 'POST',
        body: JSON.stringify({ prefix: uri }),
      });
      setManifest(r.manifest);
      if (!output) setOutput(`${uri}output/`);
      setSetupMessage(`Data setup complete: ${r.count} images in ${r.manifest}.`);
    } catch (err) {
      setSetupMessage(errorMessage(err));
    } finally {
      setSetupBusy(false);
    }
  };

  const send = async () => {
    let teamArn = team?.WorkteamArn;
    if (!team) {
      const r = await sagemaker<{ WorkteamArn: string }>('CreateWorkteam', {
        WorkteamName: newTeam,
        Description: `Labelers in group ${newGroup}`,
        MemberDefinitions: [{ OidcMemberDefinition: { Groups: [newGroup.trim()] } }],
      });
      teamArn = r.WorkteamArn;
    }
    const out = parseS3(output)!;
    const dir = out.key === '' || out.key.endsWith('/') ? out.key : `${out.key}/`;
    const configKey = `${dir}${name}/annotation-tool/data.json`;
    await apiFetch(objectUrl(out.bucket, configKey), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: labelCategoryConfig(labels, { short: shortInstr, good, bad, full }, audit),
    });
    await sagemaker('CreateLabelingJob', {
      LabelingJobName: name,
      LabelAttributeName: attribute,
      InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: manifest } } },
      OutputConfig: { S3OutputPath: `s3://${out.bucket}/${dir}` },
      RoleArn: DEFAULT_ROLE_ARN,
      LabelCategoryConfigS3Uri: `s3://${out.bucket}/${configKey}`,
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        ...(chainFrom ? chainedTask(chainKind, region) : builtInTask(taskType, region)),
        TaskTitle: title,
        TaskDescription: shortInstr.slice(0, 255) || title,
        NumberOfHumanWorkersPerDataObject: Number(workersPerObject),
        TaskTimeLimitInSeconds: Number(timeLimit),
      },
    });
  };

  const submit = () => {
    setTried(new Set([0, 1, 2, 3]));
    const firstBad = [0, 2, 3].find((s) => !stepOk(s));
    if (firstBad !== undefined) setStep(firstBad);
    return form.submit({
      valid: firstBad === undefined,
      send,
      success: `Created labeling job ${name}.`,
      openPath: `/labeling-jobs/${encodeURIComponent(name)}`,
    });
  };

  return (
    <Wizard
      activeStepIndex={step}
      isLoadingNextStep={form.busy}
      onNavigate={(e) => {
        if (e.detail.reason === 'next' && !stepOk(step)) {
          setTried(new Set([...tried, step]));
          return;
        }
        setStep(e.detail.requestedStepIndex);
      }}
      onCancel={() => navigate('/labeling-jobs')}
      onSubmit={() => void submit()}
      submitButtonText="Create labeling job"
      i18nStrings={{
        stepNumberLabel: (n) => `Step ${n}`,
        collapsedStepsLabel: (n, total) => `Step ${n} of ${total}`,
        navigationAriaLabel: 'Steps',
        cancelButton: 'Cancel',
        previousButton: 'Previous',
        nextButton: 'Next',
        optional: 'optional',
      }}
      steps={[
        {
          title: 'Specify job details',
          description: 'Where the images are and where the labels go.',
          errorText: form.error && step === 0 ? form.error : undefined,
          content: (
            <SpaceBetween size="l">
              {chainFrom && (
                <Alert type="info" header={`Chained from ${chainFrom}: ${chainKind}`}>
                  Workers {chainKind === 'adjustment' ? 'adjust' : 'verify'} the boxes of{' '}
                  {chainFrom}&apos;s output manifest (label attribute {audit ?? '…'}).
                </Alert>
              )}
              <Container header={<Header variant="h2">Job overview</Header>}>
                <SpaceBetween size="l">
                  <FormField label="Job name" errorText={show(0, 'name')}>
                    <Input value={name} onChange={(e) => setName(e.detail.value)} ariaRequired />
                  </FormField>
                  <FormField
                    label="Label attribute name"
                    description="The key of the labels in the output manifest; the job name unless you change it."
                    errorText={show(0, 'attribute')}
                  >
                    <Input value={attribute} onChange={(e) => setTypedAttribute(e.detail.value)} />
                  </FormField>
                </SpaceBetween>
              </Container>
              <Container
                header={
                  <Header
                    variant="h2"
                    description="Point at the images; Apiary writes the input manifest for you."
                  >
                    Input data setup
                  </Header>
                }
              >
                <SpaceBetween size="l">
                  <FormField
                    label="S3 location for input datasets"
                    description="A prefix holding JPEG/PNG images."
                  >
                    <SpaceBetween direction="horizontal" size="xs">
                      <Input
                        value={inputPrefix}
                        onChange={(e) => setInputPrefix(e.detail.value)}
                        placeholder="s3://bucket/images/"
                      />
                      <Button
                        loading={setupBusy}
                        disabled={!parseS3(inputPrefix)}
                        onClick={() => void completeSetup()}
                      >
                        Complete data setup
                      </Button>
                    </SpaceBetween>
                  </FormField>
                  {setupMessage && (
                    <Alert type={manifest ? 'success' : 'error'}>{setupMessage}</Alert>
                  )}
                  <FormField label="Input dataset manifest" errorText={show(0, 'manifest')}>
                    <Input
                      value={manifest}
                      onChange={(e) => setManifest(e.detail.value)}
                      placeholder="s3://bucket/images/dataset.manifest"
                    />
                  </FormField>
                  <FormField label="S3 location for output datasets" errorText={show(0, 'output')}>
                    <Input
                      value={output}
                      onChange={(e) => setOutput(e.detail.value)}
                      placeholder="s3://bucket/labels/"
                    />
                  </FormField>
                </SpaceBetween>
              </Container>
            </SpaceBetween>
          ),
        },
        {
          title: 'Task type',
          content: (
            <Container header={<Header variant="h2">Task category: Image</Header>}>
              <RadioGroup
                value={taskType}
                onChange={(e) => chooseTaskType(e.detail.value as WizardTaskType)}
                items={WIZARD_TASK_TYPES.map((t) => ({ ...t }))}
              />
            </Container>
          ),
        },
        {
          title: 'Select workers',
          content: (
            <Container header={<Header variant="h2">Workers</Header>}>
              <SpaceBetween size="l">
                <FormField label="Private work team" errorText={show(2, 'team')}>
                  <Select
                    selectedOption={
                      team
                        ? { label: team.WorkteamName, value: team.WorkteamArn }
                        : { label: 'Create a new team', value: '' }
                    }
                    options={[
                      { label: 'Create a new team', value: '' },
                      ...teams.map((t) => ({ label: t.WorkteamName, value: t.WorkteamArn })),
                    ]}
                    onChange={(e) =>
                      setTeam(teams.find((t) => t.WorkteamArn === e.detail.selectedOption.value))
                    }
                  />
                </FormField>
                {!team && (
                  <>
                    <FormField label="New team name" errorText={show(2, 'newTeam')}>
                      <Input value={newTeam} onChange={(e) => setNewTeam(e.detail.value)} />
                    </FormField>
                    <FormField
                      label="Apiary user group"
                      description="Workers in this group (apiary users add --group) see the team's tasks."
                    >
                      <Input value={newGroup} onChange={(e) => setNewGroup(e.detail.value)} />
                    </FormField>
                  </>
                )}
                <FormField label="Workers per dataset object" errorText={show(2, 'workers')}>
                  <Input
                    type="number"
                    value={workersPerObject}
                    onChange={(e) => setWorkersPerObject(e.detail.value)}
                  />
                </FormField>
                <FormField label="Task time limit (seconds)" errorText={show(2, 'time')}>
                  <Input
                    type="number"
                    value={timeLimit}
                    onChange={(e) => setTimeLimit(e.detail.value)}
                  />
                </FormField>
              </SpaceBetween>
            </Container>
          ),
        },
        {
          title:
            taskType === 'bounding-box'
              ? 'Bounding box labeling tool'
              : 'Image classification labeling tool',
          description:
            'What workers see: the labels and the instructions, with good and bad examples.',
          errorText: form.error && step === 3 ? form.error : undefined,
          content: (
            <SpaceBetween size="l">
              <Container header={<Header variant="h2">Labels</Header>}>
                <SpaceBetween size="s">
                  {show(3, 'labels') && <Box color="text-status-error">{show(3, 'labels')}</Box>}
                  <AttributeEditor
                    items={labels}
                    addButtonText="Add label"
                    removeButtonText="Remove"
                    empty="No labels."
                    onAddButtonClick={() => setLabels([...labels, ''])}
                    onRemoveButtonClick={(e) =>
                      setLabels(labels.filter((_, i) => i !== e.detail.itemIndex))
                    }
                    definition={[
                      {
                        label: 'Label',
                        control: (l, i) => (
                          <Input
                            value={l}
                            ariaLabel={`Label ${i + 1}`}
                            onChange={(e) =>
                              setLabels(labels.map((x, j) => (j === i ? e.detail.value : x)))
                            }
                          />
                        ),
                      },
                    ]}
                  />
                </SpaceBetween>
              </Container>
              <Container header={<Header variant="h2">Instructions</Header>}>
                <SpaceBetween size="l">
                  <FormField label="Task title" errorText={show(3, 'title')}>
                    <Input value={title} onChange={(e) => setTitle(e.detail.value)} />
                  </FormField>
                  <FormField label="Short instructions">
                    <Textarea
                      value={shortInstr}
                      onChange={(e) => setShortInstr(e.detail.value)}
                      rows={2}
                    />
                  </FormField>
                  <FormField label="Good example">
                    <Textarea value={good} onChange={(e) => setGood(e.detail.value)} rows={2} />
                  </FormField>
                  <FormField label="Bad example">
                    <Textarea value={bad} onChange={(e) => setBad(e.detail.value)} rows={2} />
                  </FormField>
                  <FormField
                    label="Full instructions"
                    description="Optional; shown when a worker opens the full instructions."
                  >
                    <Textarea value={full} onChange={(e) => setFull(e.detail.value)} rows={4} />
                  </FormField>
                </SpaceBetween>
              </Container>
            </SpaceBetween>
          ),
        },
      ]}
    />
  );
}
