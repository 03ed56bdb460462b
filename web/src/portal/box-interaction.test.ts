import { describe, expect, it } from 'vitest';
import type { LabeledBox } from '../../../src/shared/boxes.js';
import {
  editorReducer,
  emptyEditor,
  HISTORY_LIMIT,
  keyCommand,
  pointerDown,
  pointerMove,
  pointerUp,
  type EditorState,
  type PointerInput,
  type ToolContext,
  type ToolState,
} from './box-interaction.js';

const box = (
  left: number,
  top: number,
  width: number,
  height: number,
  label = 'bee',
): LabeledBox => ({ label, left, top, width, height });
const at = (sx: number, sy: number, extra: Partial<PointerInput> = {}): PointerInput => ({
  sx,
  sy,
  button: 0,
  pan: false,
  ...extra,
});
const ctx = (over: Partial<ToolContext> = {}): ToolContext => ({
  boxes: [],
  selected: undefined,
  readOnly: false,
  currentLabel: 'bee',
  image: { width: 400, height: 300 },
  ...over,
});
/** Scale 2, image origin at canvas (10, 10): image pixel (x, y) is canvas (10 + 2x, 10 + 2y). */
const start: ToolState = { view: { scale: 2, ox: 10, oy: 10 } };

/** Runs down, moves, up; returns the last step. */
function gesture(c: ToolContext, points: PointerInput[]) {
  let step = pointerDown(start, c, points[0]!);
  const selects = step.select ? [step.select.index] : [];
  for (const p of points.slice(1)) step = pointerMove(step.state, c, p);
  const up = pointerUp(step.state, c);
  return { up, selects: up.select ? [...selects, up.select.index] : selects, before: step.state };
}

describe('box tool gestures', () => {
  it('draws a box with the current label from a drag on empty space, selects it, commits once', () => {
    const { up, selects, before } = gesture(ctx({ currentLabel: 'drone' }), [
      at(30, 30),
      at(70, 50),
      at(110, 90),
    ]);
    expect(before.drag).toEqual({ kind: 'draw', from: { x: 10, y: 10 }, to: { x: 50, y: 40 } });
    expect(up.commit).toEqual([box(10, 10, 40, 30, 'drone')]);
    expect(selects).toEqual([undefined, 0]);
    expect(up.state).toEqual(start);
  });

  it('keeps a drawn box inside the image and ignores a click (no tiny boxes)', () => {
    expect(gesture(ctx(), [at(790, 590), at(900, 700), at(1000, 1000)]).up.commit).toEqual([
      box(390, 290, 10, 10),
    ]);
    const click = gesture(ctx({ boxes: [box(100, 100, 5, 5)] }), [at(30, 30), at(33, 33)]);
    expect(click.up.commit).toBeUndefined();
    expect(click.selects).toEqual([undefined]);
  });

  it('moves a box it was pressed on, within the image, rounded, as one change', () => {
    const boxes = [box(10, 10, 40, 30), box(200, 200, 20, 20)];
    const { up, selects, before } = gesture(ctx({ boxes }), [at(50, 50), at(60, 61), at(51.5, 50)]);
    expect(selects).toEqual([0]);
    expect(before.preview).toEqual([box(10.75, 10, 40, 30), boxes[1]]);
    expect(up.commit).toEqual([box(10.8, 10, 40, 30), boxes[1]]);
    expect(gesture(ctx({ boxes }), [at(50, 50), at(-500, -500)]).up.commit).toEqual([
      box(0, 0, 40, 30),
      boxes[1],
    ]);
  });

  it('commits nothing when a move ends where it started', () => {
    expect(
      gesture(ctx({ boxes: [box(10, 10, 40, 30)] }), [at(50, 50), at(70, 70), at(50, 50)]).up
        .commit,
    ).toBeUndefined();
  });

  it('resizes the selected box by its handle, clamped to the image', () => {
    const boxes = [box(10, 10, 40, 30)];
    // The south-east corner (50, 40) is canvas (110, 90).
    const { up, before } = gesture(ctx({ boxes, selected: 0 }), [at(111, 91), at(2000, 130)]);
    expect(before.drag).toMatchObject({ kind: 'resize', handle: 'se' });
    expect(up.commit).toEqual([box(10, 10, 390, 50)]);
  });

  it('only selects and pans when read-only', () => {
    const boxes = [box(10, 10, 40, 30)];
    const move = gesture(ctx({ boxes, selected: 0, readOnly: true }), [at(50, 50), at(90, 90)]);
    expect(move.selects).toEqual([0]);
    expect(move.up.commit).toBeUndefined();
    expect(
      gesture(ctx({ readOnly: true }), [at(200, 200), at(300, 300)]).up.commit,
    ).toBeUndefined();
  });

  it('pans with the middle or right button or with Space held, and leaves the boxes alone', () => {
    for (const input of [
      at(100, 100, { button: 1 }),
      at(100, 100, { button: 2 }),
      at(100, 100, { pan: true }),
    ]) {
      const down = pointerDown(start, ctx({ boxes: [box(40, 40, 10, 10)] }), input);
      expect(down.select).toBeUndefined();
      const moved = pointerMove(down.state, ctx(), at(130, 80));
      expect(moved.state.view).toEqual({ scale: 2, ox: 40, oy: -10 });
      expect(pointerUp(moved.state, ctx()).commit).toBeUndefined();
    }
  });

  it('ignores moves without a gesture and other buttons', () => {
    expect(pointerMove(start, ctx(), at(5, 5)).state).toBe(start);
    expect(pointerDown(start, ctx(), at(5, 5, { button: 3 }))).toEqual({ state: start });
  });
});

describe('box tool editor: history and selection', () => {
  const a = [box(0, 0, 10, 10)];
  const b = [box(0, 0, 10, 10), box(20, 20, 10, 10)];
  const withB = (): EditorState =>
    editorReducer(editorReducer(emptyEditor, { type: 'reset', boxes: [], label: 'bee' }), {
      type: 'change',
      boxes: a,
    });

  it('undoes and redoes changes, and a new change forgets the redo steps', () => {
    let s = editorReducer(withB(), { type: 'change', boxes: b });
    s = editorReducer(s, { type: 'select', index: 1 });
    s = editorReducer(s, { type: 'undo' });
    expect(s.boxes).toEqual(a);
    expect(s.selected).toBeUndefined();
    s = editorReducer(s, { type: 'redo' });
    expect(s.boxes).toEqual(b);
    s = editorReducer(editorReducer(s, { type: 'undo' }), { type: 'change', boxes: [] });
    expect(s.future).toEqual([]);
    expect(editorReducer(s, { type: 'redo' })).toBe(s);
  });

  it('returns the same state when there is nothing to undo, and a reset clears the history', () => {
    const s = editorReducer(emptyEditor, { type: 'reset', boxes: a, label: 'bee' });
    expect(editorReducer(s, { type: 'undo' })).toBe(s);
    expect(editorReducer(withB(), { type: 'reset', boxes: b, label: 'x' })).toEqual({
      boxes: b,
      selected: undefined,
      label: 'x',
      past: [],
      future: [],
    });
  });

  it(`keeps the last ${HISTORY_LIMIT} steps`, () => {
    let s = emptyEditor;
    for (let i = 0; i < HISTORY_LIMIT + 50; i++)
      s = editorReducer(s, { type: 'change', boxes: [box(i, 0, 1, 1)] });
    expect(s.past).toHaveLength(HISTORY_LIMIT);
    expect(s.past[0]).toEqual([box(49, 0, 1, 1)]);
  });

  it('deletes the selected box as one step and deselects', () => {
    let s = editorReducer(editorReducer(withB(), { type: 'change', boxes: b }), {
      type: 'select',
      index: 0,
    });
    s = editorReducer(s, { type: 'delete-selected' });
    expect(s.boxes).toEqual([b[1]]);
    expect(s.selected).toBeUndefined();
    expect(editorReducer(s, { type: 'delete-selected' })).toBe(s);
    expect(editorReducer(s, { type: 'undo' }).boxes).toEqual(b);
  });

  it('cycles the selection forwards and backwards, wrapping', () => {
    let s = editorReducer(withB(), { type: 'change', boxes: b });
    s = editorReducer(s, { type: 'cycle', step: 1 });
    expect(s.selected).toBe(0);
    s = editorReducer(s, { type: 'cycle', step: -1 });
    expect(s.selected).toBe(1);
    s = editorReducer(s, { type: 'cycle', step: 1 });
    expect(s.selected).toBe(0);
    expect(editorReducer(emptyEditor, { type: 'cycle', step: 1 })).toBe(emptyEditor);
  });

  it('sets the label for new boxes and relabels the selected box as one undo step', () => {
    let s = editorReducer(withB(), { type: 'select', index: 0 });
    s = editorReducer(s, { type: 'label', label: 'drone', relabel: true });
    expect(s.label).toBe('drone');
    expect(s.boxes).toEqual([box(0, 0, 10, 10, 'drone')]);
    expect(editorReducer(s, { type: 'undo' }).boxes).toEqual(a);
    const past = s.past.length;
    // Same label again: nothing to change.
    expect(editorReducer(s, { type: 'label', label: 'drone', relabel: true })).toBe(s);
    // Without relabel (verification tasks) only the label changes.
    const t = editorReducer(s, { type: 'label', label: 'bee', relabel: false });
    expect(t.boxes).toBe(s.boxes);
    expect(t.past).toHaveLength(past);
  });
});

describe('labeling page keys', () => {
  const key = (
    k: string,
    mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {},
  ) => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });
  const c = { hasSelection: true, canCycle: true, labelCount: 2 };

  it('maps undo and redo with Ctrl or Cmd', () => {
    expect(keyCommand(key('z', { ctrlKey: true }), c)).toEqual({
      command: { type: 'undo' },
      preventDefault: true,
    });
    expect(keyCommand(key('Z', { metaKey: true, shiftKey: true }), c)?.command).toEqual({
      type: 'redo',
    });
    expect(keyCommand(key('y', { ctrlKey: true }), c)?.command).toEqual({ type: 'redo' });
  });

  it('picks labels 1–9 that exist', () => {
    expect(keyCommand(key('2'), c)).toEqual({
      command: { type: 'label', index: 1 },
      preventDefault: false,
    });
    expect(keyCommand(key('3'), c)).toBeUndefined();
    expect(keyCommand(key('1', { ctrlKey: true }), c)).toBeUndefined();
  });

  it('deletes and cycles only when there is something to act on', () => {
    expect(keyCommand(key('Backspace'), c)).toEqual({
      command: { type: 'delete' },
      preventDefault: true,
    });
    expect(keyCommand(key('Delete'), { ...c, hasSelection: false })).toBeUndefined();
    expect(keyCommand(key('Tab', { shiftKey: true }), c)).toEqual({
      command: { type: 'cycle', step: -1 },
      preventDefault: true,
    });
    expect(keyCommand(key('Tab'), { ...c, canCycle: false })).toBeUndefined();
  });

  it('submits, skips, deselects, zooms and fits', () => {
    expect(keyCommand(key('Enter'), c)).toEqual({
      command: { type: 'submit' },
      preventDefault: true,
    });
    expect(keyCommand(key('Enter', { ctrlKey: true }), c)).toBeUndefined();
    expect(keyCommand(key('N'), c)?.command).toEqual({ type: 'skip' });
    expect(keyCommand(key('Escape'), c)?.command).toEqual({ type: 'deselect' });
    expect(keyCommand(key('='), c)?.command).toEqual({ type: 'zoom', factor: 1.25 });
    expect(keyCommand(key('-'), c)?.command).toEqual({ type: 'zoom', factor: 0.8 });
    expect(keyCommand(key('f'), c)?.command).toEqual({ type: 'fit' });
    expect(keyCommand(key('q'), c)).toBeUndefined();
  });
});
