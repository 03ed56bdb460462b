import { useCallback, useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Container from '@cloudscape-design/components/container';
import ExpandableSection from '@cloudscape-design/components/expandable-section';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import Pagination from '@cloudscape-design/components/pagination';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { API, apiJson, errorMessage } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { followHandler, href, type PageProps } from '../../app/router.js';
import ConfirmDelete from '../../components/ConfirmDelete.js';
import SplitManifest from '../../components/SplitManifest.js';
import Uploader from '../../components/Uploader.js';
import { formatBytes, formatMs } from '../../lib/format.js';

interface Row {
  readonly key: string;
  readonly folder: boolean;
  readonly size?: number;
  readonly contentType?: string;
  readonly lastModifiedMs?: number;
}

interface Listing {
  objects: { key: string; size: number; contentType: string; lastModifiedMs: number }[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextMarker?: string;
}

const PAGE_SIZE = 50;

export function prefixPath(bucket: string, prefix: string): string {
  return `/data/${encodeURIComponent(bucket)}${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`;
}

export default function BucketBrowser({ params, query }: PageProps) {
  const bucket = params.bucket!;
  const prefix = query.get('prefix') ?? '';
  const flash = useFlash();
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<Row[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<Row[]>([]);
  const [reload, setReload] = useState(0);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);
  const [splitting, setSplitting] = useState<string>();

  useEffect(() => {
    setMarkers([undefined]);
    setPage(0);
    setSelected([]);
  }, [bucket, prefix]);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    const marker = markers[page];
    const qs = new URLSearchParams({
      prefix,
      maxKeys: String(PAGE_SIZE),
      ...(marker ? { startAfter: marker } : {}),
    });
    apiJson<Listing>(`${API}/s3/buckets/${encodeURIComponent(bucket)}/objects?${qs}`)
      .then((r) => {
        if (cancelled) return;
        setError(undefined);
        setRows([
          ...r.commonPrefixes.map((p) => ({ key: p, folder: true })),
          ...r.objects.map((o) => ({
            key: o.key,
            folder: false,
            size: o.size,
            contentType: o.contentType,
            lastModifiedMs: o.lastModifiedMs,
          })),
        ]);
        setMarkers((ms) => {
          const copy = ms.slice(0, page + 1);
          if (r.isTruncated && r.nextMarker) copy[page + 1] = r.nextMarker;
          return copy;
        });
      })
      .catch((err) => !cancelled && setError(errorMessage(err)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [bucket, prefix, page, reload]); // eslint-disable-line react-hooks/exhaustive-deps

  const refresh = useCallback(() => setReload((n) => n + 1), []);
  const label = (k: string) => k.slice(prefix.length) || k;
  const selectedObjects = selected.filter((r) => !r.folder);

  const remove = async () => {
    setBusy(true);
    let n = 0;
    for (const r of selectedObjects) {
      try {
        await apiJson(
          `${API}/s3/buckets/${encodeURIComponent(bucket)}/object?key=${encodeURIComponent(r.key)}`,
          { method: 'DELETE' },
        );
        n++;
      } catch (err) {
        flash.error(err, `Could not delete ${r.key}`);
      }
    }
    if (n) flash.success(`Deleted ${n} object${n === 1 ? '' : 's'}.`);
    setBusy(false);
    setConfirmDelete(false);
    setSelected([]);
    refresh();
  };

  const createManifest = async () => {
    try {
      const r = await apiJson<{ manifest: string; count: number }>(`${API}/manifests/from-prefix`, {
        method: 'POST',
        body: JSON.stringify({ prefix: `s3://${bucket}/${prefix}` }),
      });
      flash.success(`Wrote ${r.manifest} with ${r.count} images.`);
      refresh();
    } catch (err) {
      flash.error(err, 'Could not create the manifest');
    }
  };

  const crumbs = prefix.split('/').filter(Boolean);

  return (
    <SpaceBetween size="l">
      <Header
        variant="h1"
        description={
          crumbs.length > 0 && (
            <span>
              <Link href={href(prefixPath(bucket, ''))} onFollow={followHandler}>
                {bucket}
              </Link>
              {crumbs.map((c, i) => (
                <span key={i}>
                  {' / '}
                  <Link
                    href={href(prefixPath(bucket, crumbs.slice(0, i + 1).join('/') + '/'))}
                    onFollow={followHandler}
                  >
                    {c}
                  </Link>
                </span>
              ))}
            </span>
          )
        }
      >
        {prefix ? `s3://${bucket}/${prefix}` : bucket}
      </Header>
      <Container header={<Header variant="h2">Upload</Header>}>
        <Uploader bucket={bucket} prefix={prefix} onUploaded={refresh} />
      </Container>
      <Table<Row>
        items={rows}
        loading={loading && rows.length === 0}
        loadingText="Loading objects"
        trackBy="key"
        selectionType="multi"
        selectedItems={selected}
        onSelectionChange={(e) => setSelected([...e.detail.selectedItems])}
        isItemDisabled={(r) => r.folder}
        ariaLabels={{
          tableLabel: 'Objects',
          itemSelectionLabel: (_s, r) => `Select ${r.key}`,
          allItemsSelectionLabel: () => 'Select all objects on this page',
          selectionGroupLabel: 'Object selection',
        }}
        header={
          <Header
            variant="h2"
            counter={`(${rows.length}${markers.length > page + 1 ? '+' : ''})`}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button iconName="refresh" ariaLabel="Refresh objects" onClick={refresh} />
                <ButtonDropdown
                  items={[
                    {
                      id: 'manifest',
                      text: 'Create manifest from the images here',
                      description: 'Complete data setup: one line per JPEG/PNG under this prefix',
                    },
                    {
                      id: 'split',
                      text: 'Split manifest into train and validation',
                      disabled: !(
                        selectedObjects.length === 1 &&
                        selectedObjects[0]!.key.endsWith('.manifest')
                      ),
                    },
                  ]}
                  onItemClick={(e) => {
                    if (e.detail.id === 'manifest') void createManifest();
                    if (e.detail.id === 'split' && selectedObjects[0])
                      setSplitting(`s3://${bucket}/${selectedObjects[0].key}`);
                  }}
                >
                  Actions
                </ButtonDropdown>
                <Button
                  disabled={selectedObjects.length === 0}
                  onClick={() => setConfirmDelete(true)}
                >
                  Delete
                </Button>
              </SpaceBetween>
            }
          >
            Objects
          </Header>
        }
        columnDefinitions={[
          {
            id: 'name',
            header: 'Name',
            isRowHeader: true,
            cell: (r) =>
              r.folder ? (
                <Link href={href(prefixPath(bucket, r.key))} onFollow={followHandler}>
                  {label(r.key)}
                </Link>
              ) : (
                <Link
                  href={href(
                    `/data/${encodeURIComponent(bucket)}/preview?key=${encodeURIComponent(r.key)}`,
                  )}
                  onFollow={followHandler}
                >
                  {label(r.key)}
                </Link>
              ),
          },
          {
            id: 'type',
            header: 'Type',
            cell: (r) => (r.folder ? 'Folder' : (r.contentType ?? '-')),
          },
          { id: 'size', header: 'Size', cell: (r) => (r.folder ? '-' : formatBytes(r.size ?? 0)) },
          {
            id: 'modified',
            header: 'Last modified',
            cell: (r) => (r.folder ? '-' : formatMs(r.lastModifiedMs)),
          },
        ]}
        pagination={
          <Pagination
            currentPageIndex={page + 1}
            pagesCount={markers.length}
            openEnd={markers.length > page + 1}
            onChange={(e) => setPage(e.detail.currentPageIndex - 1)}
            ariaLabels={{
              nextPageLabel: 'Next page',
              previousPageLabel: 'Previous page',
              pageLabel: (n) => `Page ${n}`,
            }}
          />
        }
        empty={
          <Box textAlign="center" padding="l">
            {error ? (
              <Box color="text-status-error">{error}</Box>
            ) : (
              <b>No objects under this prefix. Drop files above to upload.</b>
            )}
          </Box>
        }
      />
      <ExpandableSection headerText="Use this data">
        <Box variant="p">
          From the AWS CLI:{' '}
          <code>
            aws s3 ls s3://{bucket}/{prefix}
          </code>
          . As a training channel:{' '}
          <code>
            s3://{bucket}/{prefix}
          </code>
          .
        </Box>
      </ExpandableSection>
      <ConfirmDelete
        visible={confirmDelete}
        header={`Delete ${selectedObjects.length} object${selectedObjects.length === 1 ? '' : 's'}?`}
        busy={busy}
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() => void remove()}
      >
        This permanently deletes {selectedObjects.map((r) => r.key).join(', ')}.
      </ConfirmDelete>
      {splitting && (
        <SplitManifest
          manifest={splitting}
          onClose={(done) => {
            setSplitting(undefined);
            if (done) refresh();
          }}
        />
      )}
    </SpaceBetween>
  );
}
