import { useEffect, useMemo, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Container from '@cloudscape-design/components/container';
import FileUpload from '@cloudscape-design/components/file-upload';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Slider from '@cloudscape-design/components/slider';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { API, apiFetch, errorMessage } from '../app/api.js';
import { parsePrediction, selectDetections, type Detection } from '../lib/boxes.js';
import BoxCanvas from './BoxCanvas.js';

/**
 * The tutorial's last cell as a panel: pick an image, send it to the endpoint through the
 * console route (the same runtime InvokeEndpoint uses), draw the boxes with a confidence
 * threshold and a best-N control.
 */
export default function TestInvocation({
  endpointName,
  inService,
}: {
  endpointName: string;
  inService: boolean;
}) {
  const [files, setFiles] = useState<File[]>([]);
  const [preview, setPreview] = useState<string>();
  const [detections, setDetections] = useState<Detection[]>();
  const [raw, setRaw] = useState<string>();
  const [threshold, setThreshold] = useState(50);
  const [bestN, setBestN] = useState('10');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [meta, setMeta] = useState<{ variant?: string; ms: number }>();

  const file = files[0];
  useEffect(() => {
    if (!file) return setPreview(undefined);
    const url = URL.createObjectURL(file);
    setPreview(url);
    setDetections(undefined);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const n = /^\d+$/.test(bestN) ? Number(bestN) : 0;
  const shown = useMemo(
    () =>
      detections
        ? selectDetections(detections, { threshold: threshold / 100, bestN: n })
        : undefined,
    [detections, threshold, n],
  );

  const invoke = async () => {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    const t0 = performance.now();
    try {
      const res = await apiFetch(
        `${API}/endpoints/${encodeURIComponent(endpointName)}/invocations`,
        {
          method: 'POST',
          headers: {
            'content-type': file.type || 'application/x-image',
            accept: 'application/json',
          },
          body: file,
        },
      );
      const text = await res.text();
      setRaw(text);
      setMeta({
        variant: res.headers.get('x-amzn-invoked-production-variant') ?? undefined,
        ms: Math.round(performance.now() - t0),
      });
      setDetections(parsePrediction(JSON.parse(text)));
    } catch (err) {
      setError(errorMessage(err));
      setDetections(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Container
      header={
        <Header
          variant="h2"
          description="Send an image to the endpoint and see the boxes it finds."
        >
          Test inference
        </Header>
      }
    >
      <SpaceBetween size="l">
        {!inService && <Alert type="info">The endpoint answers once it is InService.</Alert>}
        <ColumnLayout columns={3}>
          <FormField label="Image" description="JPEG or PNG.">
            <FileUpload
              value={files}
              onChange={(e) => setFiles(e.detail.value.slice(-1))}
              accept="image/jpeg,image/png"
              i18nStrings={{
                uploadButtonText: () => 'Choose image',
                dropzoneText: () => 'Drop an image to test',
                removeFileAriaLabel: (i) => `Remove file ${i + 1}`,
                limitShowFewer: 'Show fewer',
                limitShowMore: 'Show more',
                errorIconAriaLabel: 'Error',
              }}
              showFileSize
            />
          </FormField>
          <FormField
            label={`Confidence threshold: ${(threshold / 100).toFixed(2)}`}
            description="Hide boxes scored below this."
          >
            <Slider
              value={threshold}
              min={0}
              max={100}
              step={1}
              onChange={(e) => setThreshold(e.detail.value)}
              ariaLabel="Confidence threshold"
              valueFormatter={(v) => (v / 100).toFixed(2)}
            />
          </FormField>
          <FormField
            label="Best N"
            description="Show at most this many boxes (0 = all)."
            errorText={/^\d+$/.test(bestN) ? undefined : 'Enter a whole number.'}
          >
            <Input
              type="number"
              inputMode="numeric"
              value={bestN}
              onChange={(e) => setBestN(e.detail.value)}
              ariaLabel="Best N boxes"
            />
          </FormField>
        </ColumnLayout>
        <Button
          variant="primary"
          disabled={!file || !inService}
          loading={busy}
          onClick={() => void invoke()}
        >
          Send request
        </Button>
        {error && (
          <Alert type="error" header="Invocation failed">
            {error}
          </Alert>
        )}
        {preview && (
          <BoxCanvas
            src={preview}
            alt={file?.name ?? 'test image'}
            upscale={4}
            detections={shown ?? []}
          />
        )}
        {shown && (
          <SpaceBetween size="s">
            <Box variant="p">
              {shown.length} of {detections!.length} detections shown
              {meta ? ` · answered by variant ${meta.variant ?? '-'} in ${meta.ms} ms` : ''}.
            </Box>
            <Table<Detection>
              variant="embedded"
              items={shown}
              ariaLabels={{ tableLabel: 'Detections' }}
              columnDefinitions={[
                { id: 'class', header: 'Class', cell: (d) => String(d.classId) },
                { id: 'score', header: 'Score', cell: (d) => d.score.toFixed(3) },
                {
                  id: 'box',
                  header: 'Box (xmin, ymin, xmax, ymax)',
                  cell: (d) => [d.xmin, d.ymin, d.xmax, d.ymax].map((v) => v.toFixed(3)).join(', '),
                },
              ]}
            />
            {raw && (
              <details>
                <summary>Raw response</summary>
                <pre className="apiary-pre">{raw}</pre>
              </details>
            )}
          </SpaceBetween>
        )}
      </SpaceBetween>
    </Container>
  );
}
