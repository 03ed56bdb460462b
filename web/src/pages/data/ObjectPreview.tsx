import { useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Autosuggest from '@cloudscape-design/components/autosuggest';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { API, apiFetch, apiJson, errorMessage } from '../../app/api.js';
import { useFlash } from '../../app/flash.js';
import { navigate, type PageProps } from '../../app/router.js';
import { objectUrl } from '../../app/upload.js';
import BoxCanvas from '../../components/BoxCanvas.js';
import ManifestGallery, { type ManifestEntry } from '../../components/ManifestGallery.js';
import SplitManifest from '../../components/SplitManifest.js';
import { formatBytes, formatMs } from '../../lib/format.js';
import { prefixPath } from './BucketBrowser.js';

interface Info {
  key: string;
  size: number;
  contentType: string;
  lastModifiedMs: number;
  etag: string;
}

const IMAGE = /\.(jpe?g|png|gif|webp|bmp)$/i;

export default function ObjectPreview({ params, query }: PageProps) {
  const bucket = params.bucket!;
  const key = query.get('key') ?? '';
  const flash = useFlash();
  const [info, setInfo] = useState<Info | null>();
  const [manifest, setManifest] = useState(query.get('manifest') ?? '');
  const [manifests, setManifests] = useState<string[]>([]);
  const [entry, setEntry] = useState<ManifestEntry>();
  const [boxesError, setBoxesError] = useState<string>();
  const [text, setText] = useState<string>();
  // Why the object could not be read (e.g. a bucket policy denies it): not "does not exist".
  const [readError, setReadError] = useState<string>();
  const [splitting, setSplitting] = useState(false);

  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const isImage = IMAGE.test(key) || info?.contentType.startsWith('image/');
  const isManifest = key.endsWith('.manifest');

  useEffect(() => {
    const qs = new URLSearchParams({ prefix: key, delimiter: '', maxKeys: '1' });
    apiJson<{ objects: Info[] }>(`${API}/s3/buckets/${encodeURIComponent(bucket)}/objects?${qs}`)
      .then((r) => {
        setReadError(undefined);
        setInfo(r.objects.find((o) => o.key === key) ?? null);
      })
      .catch((err) => {
        setInfo(undefined);
        setReadError(errorMessage(err));
      });
  }, [bucket, key]);

  // Manifests in this bucket to pick from (the first 1,000 keys).
  useEffect(() => {
    if (!isImage) return;
    const qs = new URLSearchParams({ prefix: '', delimiter: '', maxKeys: '1000' });
    apiJson<{ objects: Info[] }>(`${API}/s3/buckets/${encodeURIComponent(bucket)}/objects?${qs}`)
      .then((r) =>
        setManifests(
          r.objects
            .filter((o) => o.key.endsWith('.manifest'))
            .map((o) => `s3://${bucket}/${o.key}`),
        ),
      )
      .catch(() => undefined);
  }, [bucket, isImage]);

  const showBoxes = async (uri: string) => {
    setBoxesError(undefined);
    setEntry(undefined);
    if (!uri) return;
    try {
      const qs = new URLSearchParams({ manifest: uri, source: `s3://${bucket}/${key}` });
      setEntry(
        (await apiJson<{ entry: ManifestEntry }>(`${API}/manifests/annotations?${qs}`)).entry,
      );
    } catch (err) {
      setBoxesError(errorMessage(err));
    }
  };

  useEffect(() => {
    const m = query.get('manifest');
    if (m && isImage) void showBoxes(m);
  }, [bucket, key, isImage]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (!info || isImage || isManifest || info.size > 256 * 1024) return;
    if (!/^(text\/|application\/(json|x-ndjson))/.test(info.contentType)) return;
    apiFetch(objectUrl(bucket, key))
      .then((r) => r.text())
      .then(setText)
      .catch((err) => setReadError(errorMessage(err)));
  }, [info, isImage, isManifest, bucket, key]);

  const remove = async () => {
    try {
      await apiJson(objectUrl(bucket, key), { method: 'DELETE' });
      flash.success(`Deleted s3://${bucket}/${key}.`);
      navigate(prefixPath(bucket, dir));
    } catch (err) {
      flash.error(err, 'Could not delete the object');
    }
  };

  const label = entry?.labels[0];

  return (
    <SpaceBetween size="l">
      <Header
        variant="h1"
        description={
          <code>
            s3://{bucket}/{key}
          </code>
        }
        actions={
          <SpaceBetween direction="horizontal" size="xs">
            {isManifest && (
              <Button onClick={() => setSplitting(true)}>Split into train and validation</Button>
            )}
            <Button href={`${objectUrl(bucket, key)}&download=1`} iconName="download">
              Download
            </Button>
            <Button onClick={() => void remove()}>Delete</Button>
          </SpaceBetween>
        }
      >
        {key.split('/').pop()}
      </Header>
      {readError && <Alert type="error">{readError}</Alert>}
      {info === null && (
        <Alert type="error">
          The object s3://{bucket}/{key} does not exist.
        </Alert>
      )}
      {info && (
        <Container header={<Header variant="h2">Properties</Header>}>
          <KeyValuePairs
            columns={4}
            items={[
              { label: 'Size', value: formatBytes(info.size) },
              { label: 'Type', value: info.contentType },
              { label: 'Last modified', value: formatMs(info.lastModifiedMs) },
              { label: 'ETag', value: info.etag },
            ]}
          />
        </Container>
      )}
      {isImage && info && (
        <Container
          header={
            <Header
              variant="h2"
              description="Pick a manifest to draw the boxes it holds for this image."
            >
              Preview
            </Header>
          }
        >
          <SpaceBetween size="m">
            <FormField label="Manifest" errorText={boxesError}>
              <SpaceBetween direction="horizontal" size="xs">
                <Autosuggest
                  value={manifest}
                  onChange={(e) => setManifest(e.detail.value)}
                  options={manifests.map((m) => ({ value: m }))}
                  placeholder="s3://bucket/path/output.manifest"
                  ariaLabel="Manifest S3 URI"
                  enteredTextLabel={(v) => `Use: ${v}`}
                  empty="No manifests in this bucket"
                />
                <Button onClick={() => void showBoxes(manifest)}>Show boxes</Button>
              </SpaceBetween>
            </FormField>
            {entry && (
              <Box>
                {label
                  ? `${label.boxes.length} box${label.boxes.length === 1 ? '' : 'es'} from ${label.attribute} (line ${entry.line})`
                  : `Line ${entry.line} holds no boxes.`}
              </Box>
            )}
            <BoxCanvas
              src={objectUrl(bucket, key)}
              alt={key}
              upscale={4}
              pixelBoxes={label?.boxes ?? []}
              imageSize={label?.imageSize}
              classNames={label?.classMap}
            />
          </SpaceBetween>
        </Container>
      )}
      {isManifest && info && <ManifestGallery manifest={`s3://${bucket}/${key}`} />}
      {text !== undefined && (
        <Container header={<Header variant="h2">Contents</Header>}>
          <pre className="apiary-pre">{text}</pre>
        </Container>
      )}
      {splitting && (
        <SplitManifest
          manifest={`s3://${bucket}/${key}`}
          onClose={(done) => (setSplitting(false), done && navigate(prefixPath(bucket, dir)))}
        />
      )}
    </SpaceBetween>
  );
}
