import { useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import Table from '@cloudscape-design/components/table';
import { sagemaker } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { navigate, type PageProps } from '../../app/router.js';
import LiveLog from '../../components/LiveLog.js';
import MetricCharts from '../../components/MetricCharts.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import S3Link from '../../components/S3Link.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatDuration, formatTime, text } from '../../lib/format.js';

type Obj = Record<string, unknown>;

export default function TrainingJobDetail({ params }: PageProps) {
  const name = params.name!;
  const flash = useFlash();
  const [stopping, setStopping] = useState(false);
  const stop = async () => {
    setStopping(true);
    try {
      await sagemaker('StopTrainingJob', { TrainingJobName: name });
      flash.info(`Stopping training job ${name}.`);
    } catch (err) {
      flash.error(err, 'Could not stop the job');
    } finally {
      setStopping(false);
    }
  };
  return (
    <ResourceDetail
      noun="training job"
      name={name}
      describeOp="DescribeTrainingJob"
      input={{ TrainingJobName: name }}
      listPath="/training-jobs"
      description={(d) => <StatusBadge status={d.TrainingJobStatus} />}
      actions={(d) => (
        <>
          <Button
            disabled={d.TrainingJobStatus !== 'InProgress'}
            loading={stopping}
            onClick={() => void stop()}
          >
            Stop
          </Button>
          <Button
            disabled={d.TrainingJobStatus !== 'Completed'}
            onClick={() =>
              navigate(
                `/models/create?name=${encodeURIComponent(name)}&modelDataUrl=${encodeURIComponent(text((d.ModelArtifacts as Obj | undefined)?.S3ModelArtifacts, ''))}`,
              )
            }
          >
            Create model
          </Button>
        </>
      )}
    >
      {(d) => {
        const algo = (d.AlgorithmSpecification ?? {}) as Obj;
        const res = (d.ResourceConfig ?? {}) as Obj;
        const transitions = (d.SecondaryStatusTransitions as Obj[] | undefined) ?? [];
        const hps = Object.entries((d.HyperParameters ?? {}) as Record<string, string>);
        const channels = (d.InputDataConfig as Obj[] | undefined) ?? [];
        const finals = (d.FinalMetricDataList as Obj[] | undefined) ?? [];
        const version = `${String(d.SecondaryStatus)} ${String(d.LastModifiedTime)} ${transitions.length}`;
        return (
          <>
            {typeof d.FailureReason === 'string' && (
              <Alert type="error" header="The job failed">
                {d.FailureReason}
              </Alert>
            )}
            <Details
              title="Job settings"
              columns={4}
              items={[
                { label: 'Status', value: <StatusBadge status={d.TrainingJobStatus} /> },
                { label: 'Secondary status', value: text(d.SecondaryStatus, '-') },
                { label: 'ARN', value: String(d.TrainingJobArn) },
                { label: 'Creation time', value: formatTime(d.CreationTime) },
                { label: 'Training start', value: formatTime(d.TrainingStartTime) },
                { label: 'Training end', value: formatTime(d.TrainingEndTime) },
                {
                  label: 'Training time',
                  value:
                    typeof d.TrainingTimeInSeconds === 'number'
                      ? formatDuration(d.TrainingTimeInSeconds)
                      : '-',
                },
                {
                  label: 'Billable time',
                  value:
                    typeof d.BillableTimeInSeconds === 'number'
                      ? formatDuration(d.BillableTimeInSeconds)
                      : '-',
                },
                {
                  label: 'Algorithm image',
                  value: text(algo.TrainingImage ?? algo.AlgorithmName, '-'),
                },
                { label: 'Input mode', value: text(algo.TrainingInputMode, '-') },
                {
                  label: 'Instance',
                  value: `${text(res.InstanceType, '-')} × ${text(res.InstanceCount, '1')}`,
                },
                {
                  label: 'Model artifacts',
                  value: <S3Link uri={(d.ModelArtifacts as Obj | undefined)?.S3ModelArtifacts} />,
                },
              ]}
            />
            <Table<Obj>
              header={
                <Header
                  variant="h2"
                  description="Secondary status transitions, as SageMaker reports them."
                >
                  Status history
                </Header>
              }
              items={transitions}
              ariaLabels={{ tableLabel: 'Status history' }}
              // Long status messages wrap (status and times do not) instead of pushing the table
              // past its container's edge.
              wrapLines
              columnDefinitions={[
                {
                  id: 'status',
                  header: 'Status',
                  isRowHeader: true,
                  // A finished step is done, whatever its name; the current one shows its state.
                  cell: (t) => (
                    <span className="apiary-nowrap">
                      {t.EndTime !== undefined &&
                      t.Status !== 'Failed' &&
                      t.Status !== 'Stopped' ? (
                        <StatusIndicator type="success">{String(t.Status)}</StatusIndicator>
                      ) : (
                        <StatusBadge status={t.Status} />
                      )}
                    </span>
                  ),
                },
                {
                  id: 'start',
                  header: 'Start time',
                  cell: (t) => <span className="apiary-nowrap">{formatTime(t.StartTime)}</span>,
                },
                {
                  id: 'end',
                  header: 'End time',
                  cell: (t) => <span className="apiary-nowrap">{formatTime(t.EndTime)}</span>,
                },
                {
                  id: 'duration',
                  header: 'Duration',
                  cell: (t) =>
                    typeof t.StartTime === 'number' && typeof t.EndTime === 'number'
                      ? formatDuration(t.EndTime - t.StartTime)
                      : '-',
                },
                { id: 'message', header: 'Message', cell: (t) => text(t.StatusMessage, '') },
              ]}
              empty={<Box textAlign="center">No transitions yet.</Box>}
            />
            <MetricCharts jobName={name} version={version} />
            {finals.length > 0 && (
              <Table<Obj>
                header={<Header variant="h2">Final metrics</Header>}
                items={finals}
                ariaLabels={{ tableLabel: 'Final metrics' }}
                columnDefinitions={[
                  {
                    id: 'name',
                    header: 'Metric',
                    isRowHeader: true,
                    cell: (m) => String(m.MetricName),
                  },
                  { id: 'value', header: 'Value', cell: (m) => String(m.Value) },
                  { id: 'time', header: 'Time', cell: (m) => formatTime(m.Timestamp) },
                ]}
              />
            )}
            <LiveLog jobName={name} />
            <Table<[string, string]>
              header={<Header variant="h2">Hyperparameters</Header>}
              items={hps}
              ariaLabels={{ tableLabel: 'Hyperparameters' }}
              columnDefinitions={[
                { id: 'k', header: 'Key', isRowHeader: true, cell: ([k]) => k },
                { id: 'v', header: 'Value', cell: ([, v]) => v },
              ]}
              empty={<Box textAlign="center">None.</Box>}
            />
            <Table<Obj>
              header={<Header variant="h2">Input data configuration</Header>}
              items={channels}
              ariaLabels={{ tableLabel: 'Channels' }}
              columnDefinitions={[
                {
                  id: 'name',
                  header: 'Channel',
                  isRowHeader: true,
                  cell: (c) => String(c.ChannelName),
                },
                {
                  id: 'type',
                  header: 'S3 data type',
                  cell: (c) => text(((c.DataSource as Obj)?.S3DataSource as Obj)?.S3DataType, '-'),
                },
                {
                  id: 'uri',
                  header: 'S3 location',
                  cell: (c) => <S3Link uri={((c.DataSource as Obj)?.S3DataSource as Obj)?.S3Uri} />,
                },
                { id: 'ct', header: 'Content type', cell: (c) => text(c.ContentType, '-') },
                {
                  id: 'wrap',
                  header: 'Record wrapper',
                  cell: (c) => text(c.RecordWrapperType, 'None'),
                },
              ]}
            />
            <Details
              title="Output"
              items={[
                {
                  label: 'S3 output path',
                  value: <S3Link uri={(d.OutputDataConfig as Obj | undefined)?.S3OutputPath} />,
                },
              ]}
            />
          </>
        );
      }}
    </ResourceDetail>
  );
}
