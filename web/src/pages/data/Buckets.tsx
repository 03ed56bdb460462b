import { useCallback, useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Link from '@cloudscape-design/components/link';
import Modal from '@cloudscape-design/components/modal';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { API, apiJson, errorMessage } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { followHandler, href, type PageProps } from '../../app/router.js';
import ConfirmDelete from '../../components/ConfirmDelete.js';
import { formatMs } from '../../lib/format.js';

interface Bucket {
  name: string;
  createdAtMs: number;
}

export default function Buckets(_props: PageProps) {
  const flash = useFlash();
  const [buckets, setBuckets] = useState<Bucket[]>([]);
  const [loading, setLoading] = useState(true);
  const [selected, setSelected] = useState<Bucket[]>([]);
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [createError, setCreateError] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setBuckets((await apiJson<{ buckets: Bucket[] }>(`${API}/s3/buckets`)).buckets);
    } catch (err) {
      flash.error(err, 'Could not list buckets');
    } finally {
      setLoading(false);
    }
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    void load();
  }, [load]);

  const create = async () => {
    setBusy(true);
    setCreateError(undefined);
    try {
      await apiJson(`${API}/s3/buckets`, {
        method: 'POST',
        body: JSON.stringify({ name: newName.trim() }),
      });
      flash.success(`Created bucket ${newName.trim()}.`);
      setCreating(false);
      setNewName('');
      await load();
    } catch (err) {
      setCreateError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    for (const b of selected) {
      try {
        await apiJson(`${API}/s3/buckets/${encodeURIComponent(b.name)}`, { method: 'DELETE' });
        flash.success(`Deleted bucket ${b.name}.`);
      } catch (err) {
        flash.error(err, `Could not delete bucket ${b.name}`);
      }
    }
    setBusy(false);
    setConfirmDelete(false);
    setSelected([]);
    await load();
  };

  return (
    <>
      <Table<Bucket>
        variant="full-page"
        items={buckets}
        loading={loading}
        loadingText="Loading buckets"
        trackBy="name"
        selectionType="multi"
        selectedItems={selected}
        onSelectionChange={(e) => setSelected([...e.detail.selectedItems])}
        ariaLabels={{
          tableLabel: 'Buckets',
          itemSelectionLabel: (_s, b) => `Select ${b.name}`,
          allItemsSelectionLabel: () => 'Select all buckets',
          selectionGroupLabel: 'Bucket selection',
        }}
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={`(${buckets.length})`}
            description="Buckets of Apiary's object store — the same ones the AWS CLI and boto3 see."
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button
                  iconName="refresh"
                  ariaLabel="Refresh buckets"
                  onClick={() => void load()}
                />
                <Button disabled={selected.length === 0} onClick={() => setConfirmDelete(true)}>
                  Delete
                </Button>
                <Button variant="primary" onClick={() => setCreating(true)}>
                  Create bucket
                </Button>
              </SpaceBetween>
            }
          >
            Buckets
          </Header>
        }
        columnDefinitions={[
          {
            id: 'name',
            header: 'Name',
            isRowHeader: true,
            cell: (b) => (
              <Link href={href(`/data/${encodeURIComponent(b.name)}`)} onFollow={followHandler}>
                {b.name}
              </Link>
            ),
          },
          { id: 'created', header: 'Creation time', cell: (b) => formatMs(b.createdAtMs) },
          { id: 'uri', header: 'S3 URI', cell: (b) => <code>s3://{b.name}/</code> },
        ]}
        empty={
          <Box textAlign="center" padding="l">
            <SpaceBetween size="s">
              <b>No buckets</b>
              <Button onClick={() => setCreating(true)}>Create bucket</Button>
            </SpaceBetween>
          </Box>
        }
      />
      <Modal
        visible={creating}
        onDismiss={() => setCreating(false)}
        header="Create bucket"
        footer={
          <Box float="right">
            <SpaceBetween direction="horizontal" size="xs">
              <Button variant="link" onClick={() => setCreating(false)}>
                Cancel
              </Button>
              <Button variant="primary" loading={busy} onClick={() => void create()}>
                Create bucket
              </Button>
            </SpaceBetween>
          </Box>
        }
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <FormField
            label="Bucket name"
            description="3-63 lower-case letters, digits, dots and hyphens."
            errorText={createError}
          >
            <Input
              value={newName}
              onChange={(e) => setNewName(e.detail.value)}
              autoFocus
              ariaRequired
            />
          </FormField>
        </form>
      </Modal>
      <ConfirmDelete
        visible={confirmDelete}
        header={`Delete ${selected.length === 1 ? `bucket ${selected[0]!.name}` : `${selected.length} buckets`}?`}
        busy={busy}
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() => void remove()}
      >
        Only empty buckets can be deleted.
      </ConfirmDelete>
    </>
  );
}
