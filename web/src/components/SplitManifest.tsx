import { useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Modal from '@cloudscape-design/components/modal';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { API, apiJson, errorMessage } from '../app/api.js';
import { useFlash } from '../app/flash.js';

export interface SplitResult {
  train: string;
  validation: string;
  trainCount: number;
  validationCount: number;
}

/** Validates the split form; undefined when fine. */
export function splitProblems(percent: string, seed: string): { percent?: string; seed?: string } {
  const p = Number(percent);
  const s = Number(seed);
  return {
    percent:
      /^\d+(\.\d+)?$/.test(percent) && p > 0 && p < 100
        ? undefined
        : 'Enter a percentage between 0 and 100 (exclusive).',
    seed:
      /^\d+$/.test(seed) && s <= 0xffffffff
        ? undefined
        : 'Enter a whole number from 0 to 4294967295.',
  };
}

/**
 * The tutorial's notebook cell as one action: shuffle the manifest with a seed and write
 * train.manifest and validation.manifest next to it (80/20 by default). The same seed gives the
 * same split.
 */
export default function SplitManifest({
  manifest,
  onClose,
}: {
  manifest: string;
  onClose: (done?: SplitResult) => void;
}) {
  const flash = useFlash();
  const [percent, setPercent] = useState('80');
  const [seed, setSeed] = useState('0');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const problems = splitProblems(percent, seed);
  const [submitted, setSubmitted] = useState(false);

  const split = async () => {
    setSubmitted(true);
    if (problems.percent || problems.seed) return;
    setBusy(true);
    setError(undefined);
    try {
      const r = await apiJson<SplitResult>(`${API}/manifests/split`, {
        method: 'POST',
        body: JSON.stringify({
          manifest,
          trainFraction: Number(percent) / 100,
          seed: Number(seed),
        }),
      });
      flash.success(
        `Wrote ${r.train} (${r.trainCount} lines) and ${r.validation} (${r.validationCount} lines).`,
      );
      onClose(r);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      visible
      onDismiss={() => onClose()}
      header="Split into train and validation manifests"
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" onClick={() => onClose()}>
              Cancel
            </Button>
            <Button variant="primary" loading={busy} onClick={() => void split()}>
              Split
            </Button>
          </SpaceBetween>
        </Box>
      }
    >
      <SpaceBetween size="m">
        <Box>
          Shuffles <code>{manifest}</code> with the seed and writes <code>train.manifest</code> and{' '}
          <code>validation.manifest</code> next to it.
        </Box>
        <FormField label="Training share (%)" errorText={submitted ? problems.percent : undefined}>
          <Input type="number" value={percent} onChange={(e) => setPercent(e.detail.value)} />
        </FormField>
        <FormField
          label="Seed"
          description="The same seed always gives the same split."
          errorText={submitted ? problems.seed : undefined}
        >
          <Input type="number" value={seed} onChange={(e) => setSeed(e.detail.value)} />
        </FormField>
        {error && <Box color="text-status-error">{error}</Box>}
      </SpaceBetween>
    </Modal>
  );
}
