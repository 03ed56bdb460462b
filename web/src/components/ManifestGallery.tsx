import { useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { API, apiJson, errorMessage } from '../app/api.js';
import { followHandler, href } from '../app/router.js';
import { objectUrl } from '../app/upload.js';
import { parseS3 } from '../lib/format.js';
import BoxCanvas from './BoxCanvas.js';

export interface BoxLabel {
  attribute: string;
  imageSize?: { width: number; height: number };
  boxes: {
    classId: number;
    left: number;
    top: number;
    width: number;
    height: number;
    confidence?: number;
  }[];
  classMap: Record<string, string>;
}

export interface ManifestEntry {
  line: number;
  sourceRef?: string;
  labels: BoxLabel[];
  /** Image-classification labels: the class names chosen per attribute. */
  classes?: { attribute: string; names: string[] }[];
}

function caption(e: ManifestEntry): string {
  const label = e.labels[0];
  if (label)
    return `${label.boxes.length} box${label.boxes.length === 1 ? '' : 'es'} (${label.attribute})`;
  const classes = e.classes?.[0];
  if (classes)
    return `${classes.names.length > 0 ? classes.names.join(', ') : 'no label'} (${classes.attribute})`;
  return 'no labels';
}

/** Labelled images of a manifest, a page at a time, each with its boxes drawn. */
export default function ManifestGallery({
  manifest,
  title = 'Labelled images',
}: {
  manifest: string;
  title?: string;
}) {
  const [pages, setPages] = useState<number[]>([0]);
  const [page, setPage] = useState(0);
  const [entries, setEntries] = useState<ManifestEntry[]>([]);
  const [next, setNext] = useState<number>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    setPages([0]);
    setPage(0);
  }, [manifest]);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    const qs = new URLSearchParams({ manifest, afterLine: String(pages[page] ?? 0), max: '12' });
    apiJson<{ entries: ManifestEntry[]; nextAfterLine?: number }>(`${API}/manifests/entries?${qs}`)
      .then((r) => {
        if (cancelled) return;
        setEntries(r.entries);
        setNext(r.nextAfterLine);
        setError(undefined);
      })
      .catch((err) => !cancelled && setError(errorMessage(err)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [manifest, page, pages]);

  return (
    <Container
      header={
        <Header
          variant="h2"
          description={<code>{manifest}</code>}
          actions={
            <SpaceBetween direction="horizontal" size="xs">
              <Button
                disabled={page === 0}
                onClick={() => setPage(page - 1)}
                ariaLabel="Previous images"
              >
                Previous
              </Button>
              <Button
                disabled={next === undefined}
                onClick={() => {
                  setPages((ps) => [...ps.slice(0, page + 1), next!]);
                  setPage(page + 1);
                }}
                ariaLabel="Next images"
              >
                Next
              </Button>
            </SpaceBetween>
          }
        >
          {title}
        </Header>
      }
    >
      {error ? (
        <Box color="text-status-error">{error}</Box>
      ) : loading && entries.length === 0 ? (
        <Box>Loading…</Box>
      ) : entries.length === 0 ? (
        <Box>The manifest has no lines.</Box>
      ) : (
        <div className="apiary-thumb-grid">
          {entries.map((e) => {
            const loc = e.sourceRef ? parseS3(e.sourceRef) : undefined;
            const label = e.labels[0];
            return (
              <SpaceBetween size="xxs" key={e.line}>
                {loc ? (
                  <BoxCanvas
                    src={objectUrl(loc.bucket, loc.key)}
                    alt={loc.key}
                    pixelBoxes={label?.boxes ?? []}
                    imageSize={label?.imageSize}
                    classNames={label?.classMap}
                    maxWidth={360}
                    upscale={2}
                  />
                ) : (
                  <Box>Line {e.line} has no source-ref.</Box>
                )}
                <Box fontSize="body-s">
                  {loc ? (
                    <Link
                      href={href(
                        `/data/${encodeURIComponent(loc.bucket)}/preview?key=${encodeURIComponent(loc.key)}&manifest=${encodeURIComponent(manifest)}`,
                      )}
                      onFollow={followHandler}
                    >
                      {loc.key.split('/').pop()}
                    </Link>
                  ) : null}{' '}
                  · line {e.line} · {caption(e)}
                </Box>
              </SpaceBetween>
            );
          })}
        </div>
      )}
    </Container>
  );
}
