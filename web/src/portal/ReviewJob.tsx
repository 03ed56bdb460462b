import { useCallback, useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Checkbox from '@cloudscape-design/components/checkbox';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Pagination from '@cloudscape-design/components/pagination';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { apiJson } from '../app/api.js';
import type { PageProps } from '../app/router.js';
import BoxCanvas from '../components/BoxCanvas.js';
import type { Box as LabelBox } from './portalApi.js';
import './portal.css';

interface ReviewItem {
  objectId: number;
  sourceName: string;
  status: string;
  iteration: number;
  imageUrl: string;
  imageWidth: number | null;
  imageHeight: number | null;
  consolidated?: {
    kind: string;
    boxes?: (LabelBox & { confidence: number })[];
    imageWidth?: number;
    imageHeight?: number;
    result?: { label: string; confidence: number };
    results?: { label: string }[];
  };
  answers: { worker: string }[];
}
interface ReviewPage {
  job: { name: string; status: string; taskType: string; labels: string[]; iteration: number };
  total: number;
  items: ReviewItem[];
}
interface WorkerStat {
  worker: string;
  submitted: number;
  medianSeconds: number;
  skipped: number;
  declined: number;
  meanIou: number | null;
  agreement: number | null;
}

const PAGE = 12;
const enc = encodeURIComponent;

/** Review of a labeling job (admins): labelled images with their boxes, per-worker statistics, send back. */
export default function ReviewJob({ params }: PageProps) {
  const job = params.job ?? '';
  const [page, setPage] = useState(1);
  const [data, setData] = useState<ReviewPage>();
  const [workers, setWorkers] = useState<WorkerStat[]>();
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const load = useCallback(async () => {
    try {
      setData(
        await apiJson<ReviewPage>(
          `/_apiary/api/labeling/jobs/${enc(job)}/review?offset=${(page - 1) * PAGE}&limit=${PAGE}`,
        ),
      );
      setWorkers(
        (await apiJson<{ workers: WorkerStat[] }>(`/_apiary/api/labeling/jobs/${enc(job)}/workers`))
          .workers,
      );
    } catch (err) {
      setError((err as Error).message);
    }
  }, [job, page]);
  useEffect(() => {
    void load();
  }, [load]);

  const relabel = async () => {
    try {
      await apiJson(`/_apiary/api/labeling/jobs/${enc(job)}/relabel`, {
        method: 'POST',
        body: JSON.stringify({ objectIds: [...picked] }),
      });
      setNotice(`${picked.size} object(s) sent back for relabelling`);
      setPicked(new Set());
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const labels = data?.job.labels ?? [];
  const classNames = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  return (
    <SpaceBetween size="m">
      <Header
        variant="h1"
        description={
          data
            ? `${data.job.status} · ${data.total} objects · iteration ${data.job.iteration}`
            : undefined
        }
        actions={
          <Button disabled={picked.size === 0} onClick={() => void relabel()}>
            Send back for relabelling ({picked.size})
          </Button>
        }
      >
        Review {job}
      </Header>
      {error && <Alert type="error">{error}</Alert>}
      {notice && (
        <Alert type="success" dismissible onDismiss={() => setNotice(undefined)}>
          {notice}
        </Alert>
      )}
      <Table
        header={<Header variant="h2">Workers</Header>}
        items={workers ?? []}
        loading={!workers}
        empty="No answers yet."
        columnDefinitions={[
          { id: 'w', header: 'Worker', cell: (w) => w.worker },
          { id: 's', header: 'Answers', cell: (w) => w.submitted },
          { id: 't', header: 'Median time (s)', cell: (w) => w.medianSeconds },
          {
            id: 'i',
            header: 'Mean IoU to consolidated',
            cell: (w) => w.meanIou ?? w.agreement ?? '–',
          },
          { id: 'k', header: 'Skipped', cell: (w) => w.skipped },
          { id: 'd', header: 'Declined', cell: (w) => w.declined },
        ]}
      />
      <Container
        header={
          <Header
            variant="h2"
            actions={
              <Pagination
                currentPageIndex={page}
                pagesCount={Math.max(1, Math.ceil((data?.total ?? 0) / PAGE))}
                onChange={(e) => setPage(e.detail.currentPageIndex)}
              />
            }
          >
            Objects
          </Header>
        }
      >
        <div className="apiary-review-grid">
          {data?.items.map((o) => {
            const c = o.consolidated;
            return (
              <SpaceBetween key={o.objectId} size="xxs">
                <BoxCanvas
                  src={o.imageUrl}
                  alt={o.sourceName}
                  pixelBoxes={c?.boxes?.map((b) => ({
                    classId: Math.max(0, labels.indexOf(b.label)),
                    left: b.left,
                    top: b.top,
                    width: b.width,
                    height: b.height,
                    confidence: b.confidence,
                  }))}
                  imageSize={
                    c?.imageWidth && c.imageHeight
                      ? { width: c.imageWidth, height: c.imageHeight }
                      : undefined
                  }
                  classNames={classNames}
                  maxWidth={320}
                />
                <Checkbox
                  checked={picked.has(o.objectId)}
                  disabled={o.status === 'pending'}
                  onChange={(e) =>
                    setPicked((p) => {
                      const n = new Set(p);
                      if (e.detail.checked) n.add(o.objectId);
                      else n.delete(o.objectId);
                      return n;
                    })
                  }
                >
                  {o.sourceName}
                </Checkbox>
                <Box variant="small" color="text-body-secondary">
                  {o.status} · {o.answers.length} answer(s) ·{' '}
                  {o.answers.map((a) => a.worker).join(', ')}
                  {c?.result ? ` · ${c.result.label} (${c.result.confidence})` : ''}
                  {c?.results ? ` · ${c.results.map((r) => r.label).join(', ')}` : ''}
                </Box>
              </SpaceBetween>
            );
          })}
        </div>
      </Container>
    </SpaceBetween>
  );
}
