/**
 * Interaction of the box tool as pure functions (unit-tested in box-interaction.test.ts), apart
 * from React and the canvas:
 * - gestures: pointer down / move / up → the tool's next state, plus a selection to report and
 *   the boxes to commit (one undo step per finished draw, move or resize);
 * - the editor: boxes, selection, current label and undo/redo history as a reducer;
 * - keys: which command a key press means on the labeling page.
 */
import type { LabeledBox } from '../../../src/shared/boxes.js';
import {
  bigEnough,
  boxAt,
  clampPoint,
  handleAt,
  HANDLE_PX,
  moveBox,
  newBox,
  panBy,
  rectBetween,
  resizeBox,
  roundBox,
  toImage,
  type Handle,
  type Point,
  type Size,
  type View,
} from './box-geometry.js';

// ---------------------------------------------------------------------------------------------
// Gestures

/** The gesture in progress. Points are image pixels, except a pan's (canvas pixels). */
export type Drag =
  | { readonly kind: 'draw'; readonly from: Point; readonly to: Point }
  | {
      readonly kind: 'move';
      readonly index: number;
      readonly start: LabeledBox;
      readonly from: Point;
    }
  | {
      readonly kind: 'resize';
      readonly index: number;
      readonly start: LabeledBox;
      readonly handle: Handle;
    }
  | { readonly kind: 'pan'; readonly from: Point; readonly start: View };

/** What the canvas shows besides the committed boxes: the view, the gesture, its preview. */
export interface ToolState {
  readonly view: View;
  readonly drag?: Drag;
  /** The boxes as a move or resize in progress shows them. */
  readonly preview?: readonly LabeledBox[];
}

/** What the tool's owner holds (the committed boxes and selection) and the image's size. */
export interface ToolContext {
  readonly boxes: readonly LabeledBox[];
  readonly selected: number | undefined;
  readonly readOnly: boolean;
  readonly currentLabel: string;
  readonly image: Size;
}

/** A pointer event in canvas pixels; `pan` when Space is held. */
export interface PointerInput {
  readonly sx: number;
  readonly sy: number;
  /** 0 main, 1 middle, 2 secondary. */
  readonly button: number;
  readonly pan: boolean;
}

/** The result of one pointer event. */
export interface Step {
  readonly state: ToolState;
  /** Present when the selection changes: the new index, or undefined for none. */
  readonly select?: { readonly index: number | undefined };
  /** Present when a gesture finished with a change: the new boxes (one undo step). */
  readonly commit?: readonly LabeledBox[];
}

/**
 * Pointer down: middle/right button or Space starts a pan; on the selected box's handle a resize;
 * on a box a selection and a move; elsewhere a deselection and a new box. Read-only tools only
 * select and pan.
 */
export function pointerDown(state: ToolState, ctx: ToolContext, input: PointerInput): Step {
  if (input.button === 1 || input.button === 2 || input.pan) {
    return {
      state: {
        view: state.view,
        drag: { kind: 'pan', from: { x: input.sx, y: input.sy }, start: state.view },
      },
    };
  }
  if (input.button !== 0) return { state };
  const p = toImage(state.view, input.sx, input.sy);
  const selectedBox = ctx.selected !== undefined ? ctx.boxes[ctx.selected] : undefined;
  if (!ctx.readOnly && ctx.selected !== undefined && selectedBox) {
    const handle = handleAt(selectedBox, p, (HANDLE_PX + 3) / state.view.scale);
    if (handle)
      return {
        state: {
          view: state.view,
          drag: { kind: 'resize', index: ctx.selected, start: selectedBox, handle },
        },
      };
  }
  const hit = boxAt(ctx.boxes, p);
  if (hit !== undefined) {
    const drag: Drag | undefined = ctx.readOnly
      ? undefined
      : { kind: 'move', index: hit, start: ctx.boxes[hit]!, from: p };
    return { state: { view: state.view, drag }, select: { index: hit } };
  }
  const q = clampPoint(p, ctx.image);
  return {
    state: { view: state.view, drag: ctx.readOnly ? undefined : { kind: 'draw', from: q, to: q } },
    select: { index: undefined },
  };
}

/** Pointer move: pans the view, stretches the new box, or previews the move or resize. */
export function pointerMove(state: ToolState, ctx: ToolContext, input: PointerInput): Step {
  const d = state.drag;
  if (!d) return { state };
  if (d.kind === 'pan')
    return { state: { ...state, view: panBy(d.start, input.sx - d.from.x, input.sy - d.from.y) } };
  const p = toImage(state.view, input.sx, input.sy);
  if (d.kind === 'draw')
    return { state: { ...state, drag: { ...d, to: clampPoint(p, ctx.image) } } };
  const moved =
    d.kind === 'move'
      ? moveBox(d.start, p.x - d.from.x, p.y - d.from.y, ctx.image)
      : resizeBox(d.start, d.handle, clampPoint(p, ctx.image));
  return { state: { ...state, preview: ctx.boxes.map((b, i) => (i === d.index ? moved : b)) } };
}

/**
 * Pointer up (or cancel): a drawn box big enough on screen is added with the current label and
 * selected (a click only deselects: tiny boxes are accidents); a move or resize that changed the
 * box commits the boxes rounded to a tenth of a pixel.
 */
export function pointerUp(state: ToolState, ctx: ToolContext): Step {
  const d = state.drag;
  const rest: ToolState = { view: state.view };
  if (d?.kind === 'draw') {
    const r = rectBetween(d.from, d.to);
    if (!bigEnough(r, state.view.scale)) return { state: rest };
    const next = [...ctx.boxes, newBox(r, ctx.currentLabel)];
    return { state: rest, commit: next, select: { index: next.length - 1 } };
  }
  if ((d?.kind === 'move' || d?.kind === 'resize') && state.preview) {
    const moved = state.preview[d.index]!;
    const changed = JSON.stringify(moved) !== JSON.stringify(d.start);
    return changed ? { state: rest, commit: state.preview.map(roundBox) } : { state: rest };
  }
  return { state: rest };
}

// ---------------------------------------------------------------------------------------------
// The editor: boxes, selection, label, history

/** How many undo steps are kept. */
export const HISTORY_LIMIT = 200;

export interface EditorState {
  readonly boxes: readonly LabeledBox[];
  readonly selected: number | undefined;
  /** The label new boxes get. */
  readonly label: string;
  readonly past: readonly (readonly LabeledBox[])[];
  readonly future: readonly (readonly LabeledBox[])[];
}

export type EditorAction =
  /** A new task (or draft): no history. */
  | { readonly type: 'reset'; readonly boxes: readonly LabeledBox[]; readonly label: string }
  /** A finished gesture or edit: one undo step. */
  | { readonly type: 'change'; readonly boxes: readonly LabeledBox[] }
  | { readonly type: 'undo' }
  | { readonly type: 'redo' }
  | { readonly type: 'select'; readonly index: number | undefined }
  /** Tab / Shift+Tab: the next or previous box, wrapping; the first when none is selected. */
  | { readonly type: 'cycle'; readonly step: 1 | -1 }
  | { readonly type: 'delete-selected' }
  /** The current label; the selected box takes it too (one undo step) when `relabel`. */
  | { readonly type: 'label'; readonly label: string; readonly relabel: boolean };

export const emptyEditor: EditorState = {
  boxes: [],
  selected: undefined,
  label: '',
  past: [],
  future: [],
};

/** The editor's next state; the same object when the action changes nothing. */
export function editorReducer(s: EditorState, a: EditorAction): EditorState {
  switch (a.type) {
    case 'reset':
      return { boxes: a.boxes, selected: undefined, label: a.label, past: [], future: [] };
    case 'change':
      return {
        ...s,
        boxes: a.boxes,
        past: [...s.past.slice(-(HISTORY_LIMIT - 1)), s.boxes],
        future: [],
      };
    case 'undo':
      if (s.past.length === 0) return s;
      return {
        ...s,
        boxes: s.past[s.past.length - 1]!,
        past: s.past.slice(0, -1),
        future: [s.boxes, ...s.future],
        selected: undefined,
      };
    case 'redo':
      if (s.future.length === 0) return s;
      return {
        ...s,
        boxes: s.future[0]!,
        past: [...s.past, s.boxes],
        future: s.future.slice(1),
        selected: undefined,
      };
    case 'select':
      return s.selected === a.index ? s : { ...s, selected: a.index };
    case 'cycle': {
      const n = s.boxes.length;
      if (n === 0) return s;
      return {
        ...s,
        selected: s.selected === undefined ? 0 : (s.selected + (a.step === -1 ? n - 1 : 1)) % n,
      };
    }
    case 'delete-selected':
      if (s.selected === undefined) return s;
      return {
        ...editorReducer(s, { type: 'change', boxes: s.boxes.filter((_, i) => i !== s.selected) }),
        selected: undefined,
      };
    case 'label': {
      const withLabel = s.label === a.label ? s : { ...s, label: a.label };
      const box = s.selected !== undefined ? s.boxes[s.selected] : undefined;
      if (!a.relabel || !box || box.label === a.label) return withLabel;
      return editorReducer(withLabel, {
        type: 'change',
        boxes: s.boxes.map((b, i) => (i === s.selected ? { ...b, label: a.label } : b)),
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Keys

export type KeyCommand =
  | { readonly type: 'undo' }
  | { readonly type: 'redo' }
  | { readonly type: 'label'; readonly index: number }
  | { readonly type: 'delete' }
  | { readonly type: 'submit' }
  | { readonly type: 'skip' }
  | { readonly type: 'deselect' }
  | { readonly type: 'cycle'; readonly step: 1 | -1 }
  | { readonly type: 'zoom'; readonly factor: number }
  | { readonly type: 'fit' };

export interface KeyInput {
  readonly key: string;
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
  readonly shiftKey: boolean;
}

/** What the page can do now, which decides whether Delete and Tab are taken. */
export interface KeyContext {
  readonly hasSelection: boolean;
  /** A box task with at least one box. */
  readonly canCycle: boolean;
  readonly labelCount: number;
}

/**
 * The labeling page's keys: Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z or Ctrl/Cmd+Y redo, 1–9 label,
 * Delete/Backspace delete the selected box, Enter submit, N skip, Escape deselect, Tab/Shift+Tab
 * next/previous box, +/= and - zoom, F fit. `preventDefault` says whether the browser's own
 * action (Tab focus, Backspace navigation, form submit) must be suppressed.
 */
export function keyCommand(
  e: KeyInput,
  ctx: KeyContext,
): { command: KeyCommand; preventDefault: boolean } | undefined {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === 'z')
    return { command: { type: e.shiftKey ? 'redo' : 'undo' }, preventDefault: true };
  if (mod && key === 'y') return { command: { type: 'redo' }, preventDefault: true };
  if (!mod && /^[1-9]$/.test(e.key)) {
    const index = Number(e.key) - 1;
    return index < ctx.labelCount
      ? { command: { type: 'label', index }, preventDefault: false }
      : undefined;
  }
  if ((e.key === 'Delete' || e.key === 'Backspace') && ctx.hasSelection)
    return { command: { type: 'delete' }, preventDefault: true };
  if (e.key === 'Enter' && !mod) return { command: { type: 'submit' }, preventDefault: true };
  if (!mod && key === 'n') return { command: { type: 'skip' }, preventDefault: false };
  if (e.key === 'Escape') return { command: { type: 'deselect' }, preventDefault: false };
  if (e.key === 'Tab' && ctx.canCycle)
    return { command: { type: 'cycle', step: e.shiftKey ? -1 : 1 }, preventDefault: true };
  if (e.key === '+' || e.key === '=')
    return { command: { type: 'zoom', factor: 1.25 }, preventDefault: false };
  if (e.key === '-') return { command: { type: 'zoom', factor: 0.8 }, preventDefault: false };
  if (!mod && key === 'f') return { command: { type: 'fit' }, preventDefault: false };
  return undefined;
}
