import { useCallback, useEffect, useRef, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Modal from '@cloudscape-design/components/modal';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import Textarea from '@cloudscape-design/components/textarea';
import { ApiError } from '../app/api.js';
import { navigate, type PageProps } from '../app/router.js';
import { colorForClass, type LabeledBox } from '../../../src/shared/boxes.js';
import { countEdits, diffSuggestions } from '../../../src/shared/suggestion-edits.js';
import { editorReducer, emptyEditor, keyCommand, type EditorAction } from './box-interaction.js';
import BoxTool, { type BoxToolHandle } from './BoxTool.js';
import Instructions from './Instructions.js';
import {
  getTask,
  localDraftKey,
  nextTask,
  readLocalDraft,
  releaseTask,
  saveDraft,
  submissionIdFor,
  submitTask,
  writeLocalDraft,
  type Draft,
  type Task,
} from './portalApi.js';
import './portal.css';

type SaveState = 'saved' | 'saving' | 'unsaved' | 'offline';

const isBoxTask = (t: Task) =>
  t.taskType === 'bounding-box' ||
  t.taskType === 'adjustment-bounding-box' ||
  t.taskType === 'verification-bounding-box';

/** The labeling page: takes the job's next task (or the one already held) and labels it. */
export default function LabelTask({ params }: PageProps) {
  const job = params.job ?? '';
  const [task, setTask] = useState<Task | null | undefined>(undefined);
  const [error, setError] = useState<string>();
  // Boxes, selection, current label and undo history: one pure reducer (box-interaction.ts).
  const [editor, setEditor] = useState(emptyEditor);
  const editorNow = useRef(editor);
  const { boxes, selected, label, past, future } = editor;
  const [chosen, setChosen] = useState<string[]>([]);
  const [comment, setComment] = useState('');
  const [imageSize, setImageSize] = useState<{ width: number; height: number }>();
  const [saveState, setSaveState] = useState<SaveState>('saved');
  const [now, setNow] = useState(() => Date.now());
  const [showFull, setShowFull] = useState(false);
  const [busy, setBusy] = useState(false);
  const version = useRef(0);
  const dirty = useRef(false);
  const saveTimer = useRef<number>(undefined);
  const [clockSkew, setClockSkew] = useState(0);
  const tool = useRef<BoxToolHandle>(null);
  const initialBoxes = useRef<string>('[]');

  const edited = useCallback(() => {
    dirty.current = true;
    setSaveState('unsaved');
  }, []);
  // Applies an editor action now (keys may come faster than renders); a change of the boxes is an
  // edit to save, except a reset to a new task.
  const dispatch = useCallback(
    (a: EditorAction) => {
      const prev = editorNow.current;
      const next = editorReducer(prev, a);
      if (next === prev) return;
      editorNow.current = next;
      setEditor(next);
      if (next.boxes !== prev.boxes && a.type !== 'reset') edited();
    },
    [edited],
  );

  const adopt = useCallback(
    (t: Task | null, serverNowMs?: number) => {
      setError(undefined);
      setTask(t);
      dispatch({ type: 'reset', boxes: [], label: '' });
      setImageSize(undefined);
      setSaveState('saved');
      dirty.current = false;
      if (serverNowMs) setClockSkew(serverNowMs - Date.now());
      if (!t) return;
      version.current = t.version;
      const local = readLocalDraft(t.taskId);
      const server = t.draft ?? undefined;
      const draft: Draft | undefined =
        local && (!server || local.editedAtMs > server.editedAtMs) ? local : server;
      // Suggested boxes start on the canvas: keeping, moving or deleting each is the worker's answer.
      const suggested = t.suggestions?.boxes.map(({ label, left, top, width, height }) => ({
        label,
        left,
        top,
        width,
        height,
      }));
      const start = draft?.boxes ?? t.initialValue ?? suggested ?? [];
      initialBoxes.current = JSON.stringify(t.initialValue ?? []);
      dispatch({ type: 'reset', boxes: start, label: t.labels[0] ?? '' });
      setChosen(draft?.labels ?? []);
      setComment(draft?.comment ?? '');
      // A local copy newer than the server's (lost network, closed tab) is sent up again.
      if (draft === local && local && (!server || local.editedAtMs > server.editedAtMs)) {
        dirty.current = true;
        setSaveState('unsaved');
      }
    },
    [dispatch],
  );

  const load = useCallback(async () => {
    setTask(undefined);
    try {
      const r = await nextTask(job);
      adopt(r.task, r.serverNowMs);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setTask(null);
    }
  }, [job, adopt]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);

  const currentDraft = useCallback(
    (): Draft => ({ boxes: [...boxes], labels: chosen, comment, editedAtMs: Date.now() }),
    [boxes, chosen, comment],
  );

  const flush = useCallback(async () => {
    if (!task || !dirty.current) return;
    window.clearTimeout(saveTimer.current);
    const draft = currentDraft();
    dirty.current = false;
    setSaveState('saving');
    try {
      try {
        version.current = (await saveDraft(task.taskId, version.current, draft)).version;
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 409) throw err;
        // Saved from another tab meanwhile: take the server's version and save this (newer) edit.
        version.current = (await getTask(task.taskId)).task.version;
        version.current = (await saveDraft(task.taskId, version.current, draft)).version;
      }
      setSaveState(dirty.current ? 'unsaved' : 'saved');
    } catch (err) {
      dirty.current = true;
      if (err instanceof ApiError && err.status === 410) setError(err.message);
      setSaveState('offline');
    }
  }, [task, currentDraft]);

  // Every edit: a local copy at once, the server copy shortly after (autosave).
  useEffect(() => {
    if (!task || !dirty.current) return;
    writeLocalDraft(task.taskId, currentDraft());
    window.clearTimeout(saveTimer.current);
    saveTimer.current = window.setTimeout(() => void flush(), 600);
  }, [boxes, chosen, comment, task, currentDraft, flush]);

  // Retry when the network comes back; save on leaving the page.
  useEffect(() => {
    const online = () => void flush();
    const hide = () => {
      if (document.visibilityState === 'hidden') void flush();
    };
    window.addEventListener('online', online);
    document.addEventListener('visibilitychange', hide);
    const retry = window.setInterval(() => {
      if (dirty.current && saveState === 'offline') void flush();
    }, 5000);
    return () => {
      window.removeEventListener('online', online);
      document.removeEventListener('visibilitychange', hide);
      window.clearInterval(retry);
    };
  }, [flush, saveState]);

  const change = useCallback(
    (next: readonly LabeledBox[]) => dispatch({ type: 'change', boxes: next }),
    [dispatch],
  );
  const undo = useCallback(() => dispatch({ type: 'undo' }), [dispatch]);
  const redo = useCallback(() => dispatch({ type: 'redo' }), [dispatch]);
  const setSelected = useCallback(
    (index: number | undefined) => dispatch({ type: 'select', index }),
    [dispatch],
  );
  const deleteSelected = useCallback(() => dispatch({ type: 'delete-selected' }), [dispatch]);

  const pickLabel = useCallback(
    (l: string) => {
      if (!task) return;
      if (isBoxTask(task) && task.taskType !== 'verification-bounding-box') {
        dispatch({ type: 'label', label: l, relabel: true });
      } else if (task.taskType === 'image-classification-multilabel') {
        setChosen((c) => (c.includes(l) ? c.filter((x) => x !== l) : [...c, l]));
        edited();
      } else {
        setChosen([l]);
        edited();
      }
    },
    [task, dispatch, edited],
  );

  // Submit and release: the buttons wait, a failure shows above the task.
  const whileBusy = useCallback(async (work: () => Promise<void>) => {
    setBusy(true);
    try {
      await work();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }, []);

  const submit = useCallback(async () => {
    if (!task || busy) return;
    let answer: unknown;
    if (task.taskType === 'bounding-box' || task.taskType === 'adjustment-bounding-box') {
      if (!imageSize) return;
      answer = {
        imageWidth: imageSize.width,
        imageHeight: imageSize.height,
        boxes,
        ...(task.taskType === 'adjustment-bounding-box'
          ? { initialValueModified: JSON.stringify(boxes) !== initialBoxes.current }
          : {}),
      };
    } else if (task.taskType === 'image-classification-multilabel') answer = { labels: chosen };
    else {
      if (chosen.length === 0) {
        setError('Pick a label first');
        return;
      }
      answer = { label: chosen[0], ...(comment ? { comment } : {}) };
    }
    await whileBusy(async () => {
      window.clearTimeout(saveTimer.current);
      await submitTask(task.taskId, version.current, submissionIdFor(task.taskId), answer);
      localStorage.removeItem(localDraftKey(task.taskId));
      await load();
    });
  }, [task, busy, imageSize, boxes, chosen, comment, load, whileBusy]);

  const release = useCallback(
    async (kind: 'skip' | 'decline') => {
      if (!task || busy) return;
      await whileBusy(async () => {
        await releaseTask(task.taskId, kind);
        localStorage.removeItem(localDraftKey(task.taskId));
        await load();
      });
    },
    [task, busy, load, whileBusy],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!task || showFull) return;
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      const k = keyCommand(e, {
        hasSelection: selected !== undefined,
        canCycle: boxes.length > 0 && isBoxTask(task),
        labelCount: task.labels.length,
      });
      if (!k) return;
      if (k.preventDefault) e.preventDefault();
      const c = k.command;
      if (c.type === 'undo') undo();
      else if (c.type === 'redo') redo();
      else if (c.type === 'label') pickLabel(task.labels[c.index]!);
      else if (c.type === 'delete') deleteSelected();
      else if (c.type === 'submit') void submit();
      else if (c.type === 'skip') void release('skip');
      else if (c.type === 'deselect') setSelected(undefined);
      else if (c.type === 'cycle') dispatch({ type: 'cycle', step: c.step });
      else if (c.type === 'zoom') tool.current?.zoom(c.factor);
      else tool.current?.fit();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [
    task,
    showFull,
    undo,
    redo,
    pickLabel,
    selected,
    boxes,
    deleteSelected,
    setSelected,
    dispatch,
    submit,
    release,
  ]);

  if (task === undefined)
    return <StatusIndicator type="loading">Loading the next task…</StatusIndicator>;
  if (task === null) {
    return (
      <Container header={<Header variant="h1">{job}</Header>}>
        <SpaceBetween size="m">
          {error && <Alert type="error">{error}</Alert>}
          <Box>No more tasks for you in this job right now.</Box>
          <Button onClick={() => navigate('/portal')}>Back to my jobs</Button>
        </SpaceBetween>
      </Container>
    );
  }

  const remaining = Math.max(0, Math.floor((task.expiresAtMs - (now + clockSkew)) / 1000));
  const expired = remaining === 0;
  const boxTask = isBoxTask(task);
  return (
    <SpaceBetween size="s">
      <Header
        variant="h1"
        description={task.description}
        counter={undefined}
        actions={
          <SpaceBetween direction="horizontal" size="xs" alignItems="center">
            <span
              className={remaining < 60 ? 'apiary-countdown-low' : undefined}
              aria-label="Time left"
              data-testid="countdown"
            >
              {Math.floor(remaining / 60)}:{String(remaining % 60).padStart(2, '0')}
            </span>
            <span data-testid="save-state">
              {saveState === 'saved' ? (
                <StatusIndicator type="success">Saved</StatusIndicator>
              ) : saveState === 'offline' ? (
                <StatusIndicator type="warning">Offline: kept on this device</StatusIndicator>
              ) : (
                <StatusIndicator type="in-progress">Saving</StatusIndicator>
              )}
            </span>
            <Button onClick={() => setShowFull(true)}>Instructions</Button>
            <Button onClick={() => void release('decline')} disabled={busy}>
              Decline
            </Button>
            <Button onClick={() => void release('skip')} disabled={busy} ariaLabel="Skip (N)">
              Skip
            </Button>
            <Button
              variant="primary"
              onClick={() => void submit()}
              loading={busy}
              disabled={expired}
            >
              Submit
            </Button>
          </SpaceBetween>
        }
      >
        {task.title}
      </Header>
      {error && (
        <Alert type="error" dismissible onDismiss={() => setError(undefined)}>
          {error}
        </Alert>
      )}
      {expired && (
        <Alert
          type="warning"
          action={<Button onClick={() => void load()}>Take another task</Button>}
        >
          The time limit of this task ran out; it went back to the queue.
        </Alert>
      )}
      {task.suggestions?.notice && (
        <Alert type="warning" header="No suggestions for this image">
          <span data-testid="suggestion-notice">{task.suggestions.notice}</span>
        </Alert>
      )}
      {task.suggestions && !task.suggestions.notice && (
        <SuggestionStatus suggestions={task.suggestions} boxes={boxes} />
      )}
      <div className="apiary-task">
        <div className="apiary-task-main">
          <Box variant="small" color="text-body-secondary">
            {task.header} · {task.sourceName}
            {boxTask ? ` · ${boxes.length} boxes` : ''}
          </Box>
          {boxTask ? (
            <BoxTool
              handle={tool}
              imageUrl={task.imageUrl}
              boxes={boxes}
              labels={task.labels}
              currentLabel={label}
              selected={selected}
              readOnly={task.taskType === 'verification-bounding-box'}
              onSelect={setSelected}
              onChange={change}
              onImageSize={setImageSize}
            />
          ) : (
            <div className="apiary-classify">
              <img src={task.imageUrl} alt={task.sourceName} />
            </div>
          )}
        </div>
        <div className="apiary-side">
          <SpaceBetween size="m">
            <Container header={<Header variant="h3">Labels</Header>}>
              <div className="apiary-labels" role="group" aria-label="Labels">
                {task.labels.map((l, i) => {
                  const pressed =
                    boxTask && task.taskType !== 'verification-bounding-box'
                      ? l === label
                      : chosen.includes(l);
                  return (
                    <button
                      key={l}
                      type="button"
                      className="apiary-label"
                      aria-pressed={pressed}
                      onClick={() => pickLabel(l)}
                    >
                      <span className="apiary-key">{i < 9 ? i + 1 : ''}</span>
                      {/* Set through the CSSOM (allowed by the console's CSP): the canvas's colour for this label. */}
                      <span className="apiary-swatch" style={{ background: colorForClass(i) }} />
                      <span>{l}</span>
                    </button>
                  );
                })}
              </div>
            </Container>
            {task.taskType === 'verification-bounding-box' && (
              <Textarea
                value={comment}
                onChange={(e) => {
                  setComment(e.detail.value);
                  edited();
                }}
                placeholder="Comment (optional)"
                ariaLabel="Comment"
              />
            )}
            {boxTask && task.taskType !== 'verification-bounding-box' && (
              <SpaceBetween direction="horizontal" size="xs">
                <Button onClick={undo} disabled={past.length === 0} ariaLabel="Undo (Ctrl+Z)">
                  Undo
                </Button>
                <Button
                  onClick={redo}
                  disabled={future.length === 0}
                  ariaLabel="Redo (Ctrl+Shift+Z)"
                >
                  Redo
                </Button>
                <Button
                  onClick={deleteSelected}
                  disabled={selected === undefined}
                  ariaLabel="Delete box (Delete)"
                >
                  Delete
                </Button>
                <Button onClick={() => tool.current?.zoom(1.25)} ariaLabel="Zoom in (+)">
                  +
                </Button>
                <Button onClick={() => tool.current?.zoom(0.8)} ariaLabel="Zoom out (-)">
                  −
                </Button>
                <Button onClick={() => tool.current?.fit()} ariaLabel="Fit (F)">
                  Fit
                </Button>
              </SpaceBetween>
            )}
            <Container header={<Header variant="h3">Instructions</Header>}>
              <Instructions blocks={task.shortInstructions} />
              <Box variant="small" color="text-body-secondary">
                Keys: 1–9 label · drag to draw · Delete · Ctrl+Z / Ctrl+Shift+Z · Tab next box ·
                wheel or +/− zoom · Space+drag pan · F fit · N skip · Enter submit
              </Box>
            </Container>
          </SpaceBetween>
        </div>
      </div>
      <Modal
        visible={showFull}
        onDismiss={() => setShowFull(false)}
        header="Full instructions"
        size="large"
      >
        {task.fullInstructions.length ? (
          <Instructions blocks={task.fullInstructions} />
        ) : (
          <Instructions blocks={task.shortInstructions} />
        )}
      </Modal>
    </SpaceBetween>
  );
}

/** The model's suggestions and, live, what the worker did with them (the server records the same). */
function SuggestionStatus(props: {
  suggestions: NonNullable<Task['suggestions']>;
  boxes: readonly LabeledBox[];
}) {
  const n = props.suggestions.boxes.length;
  const c = countEdits(diffSuggestions(props.suggestions.boxes, props.boxes));
  return (
    <Alert
      type="info"
      header={`${n} suggested ${n === 1 ? 'box' : 'boxes'} from ${props.suggestions.endpoint}`}
    >
      <span data-testid="suggestion-status">
        Keep, move or delete each suggestion and add what the model missed: {c.kept} kept ·{' '}
        {c.moved} adjusted · {c.deleted} deleted · {c.added} added
      </span>
    </Alert>
  );
}
