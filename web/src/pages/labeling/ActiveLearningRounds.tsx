import { useEffect, useState } from 'react';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import Table from '@cloudscape-design/components/table';
import { apiJson } from '../../app/api.js';
import { followHandler, href } from '../../app/router.js';

/** One round of the active-learning loop, as `/_apiary/api/labeling/jobs/:job/rounds` returns it. */
interface Round {
  readonly round: number;
  readonly status: string;
  readonly humanBatch: number;
  readonly validation: number;
  readonly trainingJobName?: string;
  readonly modelArn?: string;
  readonly threshold?: number;
  readonly estimatedQuality?: number;
  readonly machineLabeled: number;
  readonly notice?: string;
}

/** Automated data labeling: the rounds of a job (human/machine counts, threshold, quality, links). */
export default function ActiveLearningRounds({ job, refresh }: { job: string; refresh: unknown }) {
  const [rounds, setRounds] = useState<readonly Round[]>([]);
  useEffect(() => {
    apiJson<{ rounds: Round[] }>(`/_apiary/api/labeling/jobs/${encodeURIComponent(job)}/rounds`)
      .then((r) => setRounds(r.rounds))
      .catch(() => setRounds([]));
  }, [job, refresh]);
  if (rounds.length === 0) return null;
  return (
    <Container header={<Header variant="h2">Automated labeling rounds</Header>}>
      <Table
        variant="embedded"
        items={[...rounds]}
        columnDefinitions={[
          { id: 'round', header: 'Round', cell: (r) => r.round },
          { id: 'status', header: 'Status', cell: (r) => r.status },
          {
            id: 'human',
            header: 'Human batch',
            cell: (r) => `${r.humanBatch} (${r.validation} held out)`,
          },
          { id: 'machine', header: 'Machine labeled', cell: (r) => r.machineLabeled },
          { id: 'threshold', header: 'Threshold', cell: (r) => r.threshold?.toFixed(3) ?? '-' },
          {
            id: 'quality',
            header: 'Estimated mean IoU',
            cell: (r) => r.estimatedQuality?.toFixed(3) ?? '-',
          },
          {
            id: 'training',
            header: 'Training job / model',
            cell: (r) =>
              r.trainingJobName ? (
                <Link
                  href={href(`/training-jobs/${encodeURIComponent(r.trainingJobName)}`)}
                  onFollow={followHandler}
                >
                  {r.trainingJobName}
                </Link>
              ) : (
                '-'
              ),
          },
          { id: 'notice', header: 'Notice', cell: (r) => r.notice ?? '' },
        ]}
      />
    </Container>
  );
}
