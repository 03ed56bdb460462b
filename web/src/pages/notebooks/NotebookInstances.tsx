import { useCallback, useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator, {
  type StatusIndicatorProps,
} from '@cloudscape-design/components/status-indicator';
import Table from '@cloudscape-design/components/table';
import { errorMessage, sagemaker } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import type { PageProps } from '../../app/router.js';
import { followHandler, href } from '../../app/router.js';
import { formatTime } from '../../lib/format.js';

type Row = Record<string, unknown>;

/** A cell's text: strings and numbers as they are, anything else empty. */
const text = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : '';

const STATUS_TYPE: Record<string, StatusIndicatorProps.Type> = {
  InService: 'success',
  Pending: 'pending',
  Stopping: 'in-progress',
  Stopped: 'stopped',
  Failed: 'error',
  Deleting: 'in-progress',
  Updating: 'in-progress',
};

/** Where JupyterLab opens: Apiary's proxy, with the console session. */
export const jupyterLabPath = (name: string): string =>
  `/_apiary/notebooks/${encodeURIComponent(name)}/lab`;

/** Notebook instances: list with status, start, stop, delete and Open JupyterLab. */
export default function NotebookInstances(_props: PageProps) {
  const flash = useFlash();
  const [items, setItems] = useState<Row[]>([]);
  const [selected, setSelected] = useState<Row[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const out = await sagemaker<{ NotebookInstances?: Row[] }>('ListNotebookInstances', {
        MaxResults: 100,
        SortBy: 'Name',
        SortOrder: 'Ascending',
      });
      setItems(out.NotebookInstances ?? []);
      setError(undefined);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, []);

  // Statuses change by themselves (Pending → InService): poll while the page is open.
  useEffect(() => {
    const first = setTimeout(() => void load(), 0);
    const t = setInterval(() => void load(), 2000);
    return () => {
      clearTimeout(first);
      clearInterval(t);
    };
  }, [load]);

  const current = selected[0]
    ? items.find((r) => r.NotebookInstanceName === selected[0]!.NotebookInstanceName)
    : undefined;
  const status = text(current?.NotebookInstanceStatus);
  const act = async (op: string, verb: string) => {
    if (!current) return;
    const name = String(current.NotebookInstanceName);
    setBusy(true);
    try {
      await sagemaker(op, { NotebookInstanceName: name });
      flash.success(`${verb} notebook instance ${name}.`);
      if (op === 'DeleteNotebookInstance') setSelected([]);
    } catch (err) {
      flash.error(err, `Could not ${verb.toLowerCase()} ${name}`);
    } finally {
      setBusy(false);
      void load();
    }
  };

  return (
    <Table
      items={items}
      loading={loading}
      loadingText="Loading notebook instances"
      selectionType="single"
      selectedItems={selected}
      onSelectionChange={(e) => setSelected(e.detail.selectedItems)}
      trackBy="NotebookInstanceName"
      variant="full-page"
      header={
        <Header
          variant="awsui-h1-sticky"
          counter={`(${items.length})`}
          description="JupyterLab servers with the SageMaker Python SDK, boto3 and the tutorial notebook; each keeps its files on its own volume."
          actions={
            <SpaceBetween direction="horizontal" size="xs">
              <Button
                disabled={!current || status !== 'InService'}
                href={current ? jupyterLabPath(String(current.NotebookInstanceName)) : undefined}
                target="_blank"
                iconName="external"
              >
                Open JupyterLab
              </Button>
              <Button
                disabled={busy || !(status === 'Stopped' || status === 'Failed')}
                onClick={() => void act('StartNotebookInstance', 'Started')}
              >
                Start
              </Button>
              <Button
                disabled={busy || status !== 'InService'}
                onClick={() => void act('StopNotebookInstance', 'Stopping')}
              >
                Stop
              </Button>
              <Button
                disabled={busy || !(status === 'Stopped' || status === 'Failed')}
                onClick={() => void act('DeleteNotebookInstance', 'Deleted')}
              >
                Delete
              </Button>
              <Button
                variant="primary"
                href={href('/notebook-instances/create')}
                onFollow={followHandler}
              >
                Create notebook instance
              </Button>
            </SpaceBetween>
          }
        >
          Notebook instances
        </Header>
      }
      empty={
        <Box textAlign="center" color="inherit">
          {error ?? 'No notebook instances.'}
        </Box>
      }
      columnDefinitions={[
        { id: 'name', header: 'Name', cell: (r) => String(r.NotebookInstanceName) },
        { id: 'type', header: 'Instance type', cell: (r) => text(r.InstanceType) },
        {
          id: 'status',
          header: 'Status',
          cell: (r) => (
            <StatusIndicator type={STATUS_TYPE[String(r.NotebookInstanceStatus)] ?? 'info'}>
              {String(r.NotebookInstanceStatus)}
            </StatusIndicator>
          ),
        },
        {
          id: 'lifecycle',
          header: 'Lifecycle configuration',
          cell: (r) => text(r.NotebookInstanceLifecycleConfigName) || '-',
        },
        { id: 'created', header: 'Creation time', cell: (r) => formatTime(r.CreationTime) },
        {
          id: 'open',
          header: 'Actions',
          cell: (r) =>
            r.NotebookInstanceStatus === 'InService' ? (
              <Link external href={jupyterLabPath(String(r.NotebookInstanceName))}>
                Open JupyterLab
              </Link>
            ) : (
              '-'
            ),
        },
      ]}
    />
  );
}
