import { useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import ProgressBar from '@cloudscape-design/components/progress-bar';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { sagemaker } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { navigate, type PageProps } from '../../app/router.js';
import ManifestGallery from '../../components/ManifestGallery.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import S3Link from '../../components/S3Link.js';
import SplitManifest, { type SplitResult } from '../../components/SplitManifest.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatTime, text } from '../../lib/format.js';
import ActiveLearningRounds from './ActiveLearningRounds.js';

type Obj = Record<string, unknown>;

export default function LabelingJobDetail({ params }: PageProps) {
  const name = params.name!;
  const flash = useFlash();
  const [splitting, setSplitting] = useState(false);
  const [split, setSplit] = useState<SplitResult>();
  const stop = async () => {
    try {
      await sagemaker('StopLabelingJob', { LabelingJobName: name });
      flash.info(`Stopping labeling job ${name}.`);
    } catch (err) {
      flash.error(err, 'Could not stop the job');
    }
  };
  return (
    <ResourceDetail
      noun="labeling job"
      name={name}
      describeOp="DescribeLabelingJob"
      input={{ LabelingJobName: name }}
      listPath="/labeling-jobs"
      description={(d) => <StatusBadge status={d.LabelingJobStatus} />}
      actions={(d) => (
        <>
          <Button disabled={d.LabelingJobStatus !== 'InProgress'} onClick={() => void stop()}>
            Stop
          </Button>
          <Button
            disabled={!(d.LabelingJobOutput as Obj | undefined)?.OutputDatasetS3Uri}
            onClick={() => setSplitting(true)}
          >
            Split into train and validation
          </Button>
          {/* Chain: adjust / verify — a finished box job's output starts a Ground Truth adjustment or verification job. */}
          <ButtonDropdown
            disabled={
              d.LabelingJobStatus !== 'Completed' ||
              !/BoundingBox|bounding-box/.test(JSON.stringify(d.HumanTaskConfig ?? {}))
            }
            items={[
              { id: 'adjustment', text: 'Adjust its boxes' },
              { id: 'verification', text: 'Verify its boxes' },
            ]}
            onItemClick={(e) =>
              navigate(
                `/labeling-jobs/create?chain=${encodeURIComponent(name)}&type=${e.detail.id}`,
              )
            }
          >
            Chain: adjust / verify
          </ButtonDropdown>
        </>
      )}
    >
      {(d) => {
        const c = (d.LabelCounters ?? {}) as Record<string, number>;
        const total = (c.TotalLabeled ?? 0) + (c.Unlabeled ?? 0) + (c.FailedNonRetryableError ?? 0);
        const outputUri = (d.LabelingJobOutput as Obj | undefined)?.OutputDatasetS3Uri as
          string | undefined;
        const task = (d.HumanTaskConfig ?? {}) as Obj;
        const input = (
          ((d.InputConfig as Obj | undefined)?.DataSource as Obj | undefined)?.S3DataSource as
            Obj | undefined
        )?.ManifestS3Uri as string | undefined;
        return (
          <>
            {typeof d.FailureReason === 'string' && (
              <Alert type="error" header="The job failed">
                {d.FailureReason}
              </Alert>
            )}
            <Container header={<Header variant="h2">Progress</Header>}>
              <SpaceBetween size="m">
                <ProgressBar
                  value={total ? Math.round(((c.TotalLabeled ?? 0) / total) * 100) : 0}
                  label="Labeled objects"
                  description={`${c.TotalLabeled ?? 0} of ${total} dataset objects`}
                />
                <KeyValuePairs
                  columns={4}
                  items={[
                    { label: 'Human labeled', value: text(c.HumanLabeled, '0') },
                    { label: 'Machine labeled', value: text(c.MachineLabeled, '0') },
                    { label: 'Unlabeled', value: text(c.Unlabeled, '0') },
                    { label: 'Failed', value: text(c.FailedNonRetryableError, '0') },
                  ]}
                />
              </SpaceBetween>
            </Container>
            {d.LabelingJobAlgorithmsConfig !== undefined && (
              <ActiveLearningRounds job={name} refresh={d.LastModifiedTime} />
            )}
            <Details
              title="Job summary"
              items={[
                { label: 'Status', value: <StatusBadge status={d.LabelingJobStatus} /> },
                { label: 'ARN', value: String(d.LabelingJobArn) },
                { label: 'Creation time', value: formatTime(d.CreationTime) },
                { label: 'Label attribute name', value: String(d.LabelAttributeName) },
                { label: 'Input manifest', value: <S3Link uri={input} /> },
                { label: 'Output manifest', value: <S3Link uri={outputUri} /> },
                { label: 'Work team', value: text(task.WorkteamArn, '-') },
                { label: 'Task title', value: text(task.TaskTitle, '-') },
                {
                  label: 'Workers per object',
                  value: text(task.NumberOfHumanWorkersPerDataObject, '-'),
                },
              ]}
            />
            {split && (
              <Alert
                type="success"
                header="Split written"
                action={
                  <Button
                    onClick={() =>
                      navigate(
                        `/training-jobs/create?train=${encodeURIComponent(split.train)}&validation=${encodeURIComponent(split.validation)}`,
                      )
                    }
                  >
                    Create training job
                  </Button>
                }
              >
                {split.train} ({split.trainCount} lines) and {split.validation} (
                {split.validationCount} lines).
              </Alert>
            )}
            {outputUri ? (
              <ManifestGallery manifest={outputUri} />
            ) : (
              <Box color="text-body-secondary">
                Labelled images appear here once workers submit them.
              </Box>
            )}
            {splitting && outputUri && (
              <SplitManifest
                manifest={outputUri}
                onClose={(r) => {
                  setSplitting(false);
                  if (r) setSplit(r);
                }}
              />
            )}
          </>
        );
      }}
    </ResourceDetail>
  );
}
