import { useState } from 'react';
import { errorMessage } from './api.js';
import { useFlash } from './flash.js';
import { navigate } from './router.js';

/** What one submission does: the check before sending, the call, where to go after. */
export interface Submission {
  /** False when a field has a problem: nothing is sent. */
  readonly valid: boolean;
  /** Shown as the form's error when `valid` is false (the fields show their own otherwise). */
  readonly invalidMessage?: string;
  /** The create call(s); a rejection becomes the form's error. */
  send(): Promise<unknown>;
  /** The success flash, e.g. "Created model m1." */
  readonly success: string;
  /** The console path to open once created, e.g. "/models/m1". */
  readonly openPath: string;
}

/** The state of a create page's submit: `show` hides field problems until the first try. */
export interface SubmitState {
  readonly submitted: boolean;
  readonly busy: boolean;
  readonly error: string | undefined;
  show: (problem: string | undefined) => string | undefined;
  submit(s: Submission): Promise<void>;
}

/**
 * The submit handling the create pages share: marks the form tried (field problems appear),
 * stops when a field is wrong, else sends with a pending state, flashes success and navigates to
 * the new resource; a failed call leaves the server's message on the form.
 */
export function useSubmit(): SubmitState {
  const flash = useFlash();
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return {
    submitted,
    busy,
    error,
    show: (problem) => (submitted ? problem : undefined),
    submit: async (s) => {
      setSubmitted(true);
      if (!s.valid) {
        if (s.invalidMessage) setError(s.invalidMessage);
        return;
      }
      setBusy(true);
      setError(undefined);
      try {
        await s.send();
        flash.success(s.success);
        navigate(s.openPath);
      } catch (err) {
        setError(errorMessage(err));
      } finally {
        setBusy(false);
      }
    },
  };
}
