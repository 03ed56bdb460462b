import { useRef, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import FileDropzone from '@cloudscape-design/components/file-dropzone';
import FileInput from '@cloudscape-design/components/file-input';
import ProgressBar from '@cloudscape-design/components/progress-bar';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { errorMessage } from '../app/api.js';
import { uploadObject } from '../app/upload.js';
import { formatBytes } from '../lib/format.js';

interface Item {
  readonly id: number;
  readonly key: string;
  readonly size: number;
  loaded: number;
  status: 'queued' | 'uploading' | 'done' | 'error';
  error?: string;
}

const CONCURRENCY = 3;
let nextId = 0;

/**
 * Drag-and-drop (or choose) files to upload under a prefix: each file streams to the object store
 * with its own progress bar, three at a time.
 */
export default function Uploader({
  bucket,
  prefix,
  onUploaded,
}: {
  bucket: string;
  prefix: string;
  onUploaded: () => void;
}) {
  const [items, setItems] = useState<Item[]>([]);
  const queue = useRef<{ item: Item; file: File }[]>([]);
  const running = useRef(0);

  const patch = (id: number, p: Partial<Item>) =>
    setItems((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)));

  const pump = () => {
    while (running.current < CONCURRENCY && queue.current.length > 0) {
      const { item, file } = queue.current.shift()!;
      running.current++;
      patch(item.id, { status: 'uploading' });
      uploadObject(bucket, item.key, file, (p) => patch(item.id, { loaded: p.loaded }))
        .then(() => {
          patch(item.id, { status: 'done', loaded: item.size });
          onUploaded();
        })
        .catch((err) => patch(item.id, { status: 'error', error: errorMessage(err) }))
        .finally(() => {
          running.current--;
          pump();
        });
    }
  };

  const add = (files: readonly File[]) => {
    const fresh = files.map((file) => {
      const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
      const item: Item = {
        id: ++nextId,
        key: prefix + rel,
        size: file.size,
        loaded: 0,
        status: 'queued',
      };
      queue.current.push({ item, file });
      return item;
    });
    setItems((xs) => [...fresh, ...xs.filter((x) => x.status !== 'done')].slice(0, 200));
    pump();
  };

  return (
    <SpaceBetween size="s">
      <FileDropzone onChange={(e) => add(e.detail.value)}>
        <SpaceBetween size="xxs" alignItems="center">
          <Box color="inherit">
            Drop files here to upload them to{' '}
            <code>
              s3://{bucket}/{prefix}
            </code>
          </Box>
          <FileInput
            value={[]}
            multiple
            onChange={(e) => add(e.detail.value)}
            ariaLabel="Choose files to upload"
          >
            Choose files
          </FileInput>
        </SpaceBetween>
      </FileDropzone>
      {items.length > 0 && (
        <div role="list" aria-label="Uploads">
          <SpaceBetween size="xs">
            {items.map((x) => (
              <div role="listitem" key={x.id}>
                <ProgressBar
                  label={x.key}
                  value={
                    x.size === 0
                      ? x.status === 'done'
                        ? 100
                        : 0
                      : Math.round((x.loaded / x.size) * 100)
                  }
                  description={`${formatBytes(x.loaded)} of ${formatBytes(x.size)}`}
                  status={
                    x.status === 'done' ? 'success' : x.status === 'error' ? 'error' : 'in-progress'
                  }
                  resultText={x.status === 'done' ? 'Uploaded' : undefined}
                  additionalInfo={x.error}
                />
              </div>
            ))}
          </SpaceBetween>
        </div>
      )}
    </SpaceBetween>
  );
}
