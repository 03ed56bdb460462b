import { useMemo } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import LineChart from '@cloudscape-design/components/line-chart';
import Link from '@cloudscape-design/components/link';
import Table from '@cloudscape-design/components/table';
import { sagemaker } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { useLiveOne } from '../../app/live.js';
import { followHandler, href, navigate, type PageProps } from '../../app/router.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import StatusBadge from '../../components/StatusBadge.js';
import { formatTime, text } from '../../lib/format.js';

type Obj = Record<string, unknown>;

/** A y-domain around the values, with room when they are all equal. */
function padded(ys: number[]): [number, number] {
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const pad = hi > lo ? (hi - lo) * 0.05 : Math.abs(lo) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

function Leaderboard({ name }: { name: string }) {
  const watch = useMemo(
    () => ({
      op: 'ListTrainingJobsForHyperParameterTuningJob',
      input: {
        HyperParameterTuningJobName: name,
        MaxResults: 100,
        SortBy: 'FinalObjectiveMetricValue',
        SortOrder: 'Descending',
      },
    }),
    [name],
  );
  const value = useLiveOne<{ TrainingJobSummaries?: Obj[] }>(watch);
  const jobs = value?.output?.TrainingJobSummaries ?? [];
  const objective = (j: Obj) =>
    (j.FinalHyperParameterTuningJobObjectiveMetric as Obj | undefined)?.Value as number | undefined;
  const points = jobs
    .filter((j) => typeof objective(j) === 'number')
    .map((j) => ({ t: Number(j.CreationTime), y: objective(j)! }))
    .sort((a, b) => a.t - b.t)
    .map((p, i) => ({ x: i + 1, y: p.y }));
  return (
    <>
      <Table<Obj>
        header={
          <Header variant="h2" description="Best objective first. Live.">
            Training jobs
          </Header>
        }
        items={jobs}
        loading={!value}
        loadingText="Loading training jobs"
        ariaLabels={{ tableLabel: 'Training jobs of the tuning job' }}
        // The tuned hyperparameters wrap (names, status and times do not) instead of pushing the
        // table past its container's edge.
        wrapLines
        columnDefinitions={[
          {
            id: 'name',
            header: 'Training job',
            isRowHeader: true,
            cell: (j) => (
              <span className="apiary-nowrap">
                <Link
                  href={href(`/training-jobs/${encodeURIComponent(String(j.TrainingJobName))}`)}
                  onFollow={followHandler}
                >
                  {String(j.TrainingJobName)}
                </Link>
              </span>
            ),
          },
          {
            id: 'status',
            header: 'Status',
            cell: (j) => (
              <span className="apiary-nowrap">
                <StatusBadge status={j.TrainingJobStatus} />
              </span>
            ),
          },
          {
            id: 'objective',
            header: 'Objective value',
            cell: (j) => (objective(j) !== undefined ? objective(j)!.toFixed(4) : '-'),
          },
          {
            id: 'hps',
            header: 'Tuned hyperparameters',
            cell: (j) =>
              Object.entries((j.TunedHyperParameters ?? {}) as Record<string, string>)
                .map(([k, v]) => `${k}=${v}`)
                .join(', '),
          },
          {
            id: 'created',
            header: 'Creation time',
            cell: (j) => <span className="apiary-nowrap">{formatTime(j.CreationTime)}</span>,
          },
        ]}
        empty={
          <Box textAlign="center">
            {value?.error ? value.error.message : 'No training jobs yet.'}
          </Box>
        }
      />
      {points.length > 0 && (
        <Container header={<Header variant="h2">Objective by training job</Header>}>
          <LineChart
            series={[{ title: 'Objective', type: 'line', data: points }]}
            xDomain={[1, Math.max(2, points.length)]}
            yDomain={padded(points.map((p) => p.y))}
            i18nStrings={{ xTickFormatter: (x) => (Number.isInteger(x) ? String(x) : '') }}
            xTitle="Training job (in order of creation)"
            yTitle="Objective"
            xScaleType="linear"
            height={220}
            hideFilter
            ariaLabel="Objective value by training job"
            empty={<Box>No data</Box>}
          />
        </Container>
      )}
    </>
  );
}

export default function TuningJobDetail({ params }: PageProps) {
  const name = params.name!;
  const flash = useFlash();
  const deployBest = async (best: string) => {
    try {
      const d = await sagemaker<{ ModelArtifacts?: { S3ModelArtifacts?: string } }>(
        'DescribeTrainingJob',
        { TrainingJobName: best },
      );
      navigate(
        `/models/create?name=${encodeURIComponent(best)}&modelDataUrl=${encodeURIComponent(d.ModelArtifacts?.S3ModelArtifacts ?? '')}`,
      );
    } catch (err) {
      flash.error(err, 'Could not read the best training job');
    }
  };
  const stop = async () => {
    try {
      await sagemaker('StopHyperParameterTuningJob', { HyperParameterTuningJobName: name });
      flash.info(`Stopping tuning job ${name}.`);
    } catch (err) {
      flash.error(err, 'Could not stop the tuning job');
    }
  };
  return (
    <ResourceDetail
      noun="tuning job"
      name={name}
      describeOp="DescribeHyperParameterTuningJob"
      input={{ HyperParameterTuningJobName: name }}
      listPath="/tuning-jobs"
      description={(d) => <StatusBadge status={d.HyperParameterTuningJobStatus} />}
      actions={(d) => {
        const best = (d.BestTrainingJob as Obj | undefined)?.TrainingJobName as string | undefined;
        return (
          <>
            <Button
              disabled={d.HyperParameterTuningJobStatus !== 'InProgress'}
              onClick={() => void stop()}
            >
              Stop
            </Button>
            <Button
              variant="primary"
              disabled={!best}
              onClick={() => best && void deployBest(best)}
            >
              Deploy best model
            </Button>
          </>
        );
      }}
    >
      {(d) => {
        const cfg = (d.HyperParameterTuningJobConfig ?? {}) as Obj;
        const obj = (cfg.HyperParameterTuningJobObjective ?? {}) as Obj;
        const limits = (cfg.ResourceLimits ?? {}) as Obj;
        const counters = (d.TrainingJobStatusCounters ?? {}) as Record<string, number>;
        const best = d.BestTrainingJob as Obj | undefined;
        const bestMetric = best?.FinalHyperParameterTuningJobObjectiveMetric as Obj | undefined;
        return (
          <>
            {typeof d.FailureReason === 'string' && <Alert type="error">{d.FailureReason}</Alert>}
            <Details
              title="Tuning job settings"
              columns={4}
              items={[
                { label: 'Strategy', value: text(cfg.Strategy, '-') },
                { label: 'Objective', value: `${text(obj.Type, '')} ${text(obj.MetricName, '')}` },
                {
                  label: 'Training jobs (max / parallel)',
                  value: `${text(limits.MaxNumberOfTrainingJobs, '-')} / ${text(limits.MaxParallelTrainingJobs, '-')}`,
                },
                { label: 'Creation time', value: formatTime(d.CreationTime) },
              ]}
            />
            <Container header={<Header variant="h2">Progress</Header>}>
              <KeyValuePairs
                columns={4}
                items={[
                  { label: 'Completed', value: text(counters.Completed, '0') },
                  { label: 'In progress', value: text(counters.InProgress, '0') },
                  { label: 'Stopped', value: text(counters.Stopped, '0') },
                  {
                    label: 'Failed',
                    value: String(
                      (counters.RetryableError ?? 0) + (counters.NonRetryableError ?? 0),
                    ),
                  },
                ]}
              />
            </Container>
            {best && (
              <Details
                title="Best training job"
                items={[
                  {
                    label: 'Training job',
                    value: (
                      <Link
                        href={href(
                          `/training-jobs/${encodeURIComponent(String(best.TrainingJobName))}`,
                        )}
                        onFollow={followHandler}
                      >
                        {String(best.TrainingJobName)}
                      </Link>
                    ),
                  },
                  {
                    label: text(bestMetric?.MetricName, 'Objective'),
                    value: text(bestMetric?.Value, '-'),
                  },
                  {
                    label: 'Hyperparameters',
                    value: Object.entries(
                      (best.TunedHyperParameters ?? {}) as Record<string, string>,
                    )
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', '),
                  },
                ]}
              />
            )}
            <Leaderboard name={name} />
          </>
        );
      }}
    </ResourceDetail>
  );
}
