import { useCallback, useEffect, useImperativeHandle, useRef, useState, type Ref } from 'react';
import type { Box } from './portalApi.js';

/** A palette that stays readable on photos; label i gets colour i. */
export const PALETTE = ['#ff9900', '#00a1c9', '#e7157b', '#7aa116', '#8c4fff', '#ff5d64', '#01a88d', '#f2c80f', '#3184c2'];
export const colorOf = (labels: readonly string[], label: string) => PALETTE[Math.max(0, labels.indexOf(label)) % PALETTE.length]!;

export interface BoxToolHandle {
  fit(): void;
  zoom(factor: number): void;
}

type Drag =
  | { kind: 'draw'; x0: number; y0: number; x1: number; y1: number }
  | { kind: 'move'; index: number; start: Box; px: number; py: number }
  | { kind: 'resize'; index: number; start: Box; handle: string }
  | { kind: 'pan'; sx: number; sy: number; ox: number; oy: number };

const HANDLE = 7;

/**
 * The bounding-box tool: one canvas draws the image and every box (200 boxes on a 4000×3000 image
 * stay smooth: one redraw per animation frame, no DOM per box). Coordinates are image pixels.
 * Mouse: drag on empty space draws a box with the current label; drag a box to move it; drag a
 * handle of the selected box to resize; wheel zooms around the pointer; right/middle drag or
 * Space + drag pans.
 */
export default function BoxTool(props: {
  imageUrl: string;
  boxes: readonly Box[];
  labels: readonly string[];
  currentLabel: string;
  selected: number | undefined;
  readOnly?: boolean;
  onSelect(index: number | undefined): void;
  /** Called once per finished gesture (draw, move, resize): one undo step each. */
  onChange(boxes: Box[]): void;
  onImageSize(size: { width: number; height: number }): void;
  handle?: Ref<BoxToolHandle>;
}) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const [image, setImage] = useState<HTMLImageElement>();
  const [failed, setFailed] = useState(false);
  const view = useRef({ scale: 1, ox: 0, oy: 0 });
  const drag = useRef<Drag | undefined>(undefined);
  const preview = useRef<Box[] | undefined>(undefined);
  const space = useRef(false);
  const frame = useRef(0);
  const [, setTick] = useState(0);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const img = new Image();
    let live = true;
    img.onload = () => {
      if (!live) return;
      setImage(img);
      latest.current.onImageSize({ width: img.naturalWidth, height: img.naturalHeight });
    };
    img.onerror = () => live && setFailed(true);
    img.src = props.imageUrl;
    return () => {
      live = false;
    };
  }, [props.imageUrl]);

  const draw = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const canvas = canvasRef.current;
      if (!canvas || !image) return;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const { scale, ox, oy } = view.current;
      const dpr = window.devicePixelRatio || 1;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#16191f';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = scale < 2;
      ctx.drawImage(image, ox, oy, image.naturalWidth * scale, image.naturalHeight * scale);
      const p = latest.current;
      const boxes = preview.current ?? p.boxes;
      ctx.lineWidth = 2;
      boxes.forEach((b, i) => {
        const x = ox + b.left * scale;
        const y = oy + b.top * scale;
        const w = b.width * scale;
        const h = b.height * scale;
        const color = colorOf(p.labels, b.label);
        ctx.strokeStyle = color;
        ctx.setLineDash(i === p.selected ? [] : []);
        ctx.lineWidth = i === p.selected ? 3 : 2;
        ctx.strokeRect(x, y, w, h);
        if (i === p.selected) {
          ctx.fillStyle = color + '33';
          ctx.fillRect(x, y, w, h);
          ctx.fillStyle = color;
          for (const [hx, hy] of handlePoints(x, y, w, h)) ctx.fillRect(hx - HANDLE / 2, hy - HANDLE / 2, HANDLE, HANDLE);
        }
      });
      const d = drag.current;
      if (d?.kind === 'draw') {
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = colorOf(p.labels, p.currentLabel);
        ctx.lineWidth = 2;
        ctx.strokeRect(ox + Math.min(d.x0, d.x1) * scale, oy + Math.min(d.y0, d.y1) * scale, Math.abs(d.x1 - d.x0) * scale, Math.abs(d.y1 - d.y0) * scale);
        ctx.setLineDash([]);
      }
      canvas.dataset.scale = String(scale);
      canvas.dataset.offsetX = String(ox);
      canvas.dataset.offsetY = String(oy);
    });
  }, [image]);

  const fit = useCallback(() => {
    const canvas = canvasRef.current;
    const wrap = wrapRef.current;
    if (!canvas || !wrap || !image) return;
    const w = wrap.clientWidth;
    const h = wrap.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    const scale = Math.min(w / image.naturalWidth, h / image.naturalHeight);
    view.current = { scale, ox: (w - image.naturalWidth * scale) / 2, oy: (h - image.naturalHeight * scale) / 2 };
    draw();
  }, [image, draw]);

  const zoomAt = useCallback(
    (factor: number, cx: number, cy: number) => {
      const v = view.current;
      const scale = Math.min(40, Math.max(0.02, v.scale * factor));
      const k = scale / v.scale;
      view.current = { scale, ox: cx - (cx - v.ox) * k, oy: cy - (cy - v.oy) * k };
      draw();
      setTick((t) => t + 1);
    },
    [draw],
  );

  useImperativeHandle(props.handle, () => ({
    fit,
    zoom: (factor: number) => {
      const c = canvasRef.current;
      zoomAt(factor, (c?.clientWidth ?? 0) / 2, (c?.clientHeight ?? 0) / 2);
    },
  }));

  useEffect(() => {
    fit();
    const ro = new ResizeObserver(() => fit());
    if (wrapRef.current) ro.observe(wrapRef.current);
    return () => ro.disconnect();
  }, [fit]);

  useEffect(() => draw(), [draw, props.boxes, props.selected, props.currentLabel]);

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (e.code === 'Space' && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement)) space.current = true;
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === 'Space') space.current = false;
    };
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
    };
  }, []);

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const c = canvasRef.current;
    if (!c) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    };
    c.addEventListener('wheel', onWheel, { passive: false });
    return () => c.removeEventListener('wheel', onWheel);
  }, [zoomAt]);

  const toImage = (e: React.PointerEvent) => {
    const r = canvasRef.current!.getBoundingClientRect();
    const { scale, ox, oy } = view.current;
    return { x: (e.clientX - r.left - ox) / scale, y: (e.clientY - r.top - oy) / scale, sx: e.clientX - r.left, sy: e.clientY - r.top };
  };
  const clampX = (x: number) => Math.max(0, Math.min(image?.naturalWidth ?? x, x));
  const clampY = (y: number) => Math.max(0, Math.min(image?.naturalHeight ?? y, y));

  const onPointerDown = (e: React.PointerEvent) => {
    if (!image) return;
    canvasRef.current!.setPointerCapture(e.pointerId);
    const p = toImage(e);
    const { scale } = view.current;
    if (e.button === 1 || e.button === 2 || space.current) {
      drag.current = { kind: 'pan', sx: p.sx, sy: p.sy, ox: view.current.ox, oy: view.current.oy };
      return;
    }
    if (e.button !== 0) return;
    const boxes = props.boxes;
    if (!props.readOnly && props.selected !== undefined && boxes[props.selected]) {
      const b = boxes[props.selected]!;
      const tol = (HANDLE + 3) / scale;
      const handle = handleAt(b, p.x, p.y, tol);
      if (handle) {
        drag.current = { kind: 'resize', index: props.selected, start: b, handle };
        return;
      }
    }
    // Topmost (last drawn) box under the pointer; the smallest wins among nested ones.
    let hit: number | undefined;
    for (let i = boxes.length - 1; i >= 0; i--) {
      const b = boxes[i]!;
      if (p.x >= b.left && p.x <= b.left + b.width && p.y >= b.top && p.y <= b.top + b.height) {
        if (hit === undefined || b.width * b.height < boxes[hit]!.width * boxes[hit]!.height) hit = i;
      }
    }
    if (hit !== undefined) {
      props.onSelect(hit);
      if (!props.readOnly) drag.current = { kind: 'move', index: hit, start: boxes[hit]!, px: p.x, py: p.y };
      return;
    }
    props.onSelect(undefined);
    if (!props.readOnly) drag.current = { kind: 'draw', x0: clampX(p.x), y0: clampY(p.y), x1: clampX(p.x), y1: clampY(p.y) };
  };

  const onPointerMove = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d || !image) return;
    const p = toImage(e);
    if (d.kind === 'pan') {
      view.current = { ...view.current, ox: d.ox + p.sx - d.sx, oy: d.oy + p.sy - d.sy };
    } else if (d.kind === 'draw') {
      d.x1 = clampX(p.x);
      d.y1 = clampY(p.y);
    } else if (d.kind === 'move') {
      const b = d.start;
      const left = Math.max(0, Math.min(image.naturalWidth - b.width, b.left + p.x - d.px));
      const top = Math.max(0, Math.min(image.naturalHeight - b.height, b.top + p.y - d.py));
      preview.current = props.boxes.map((x, i) => (i === d.index ? { ...b, left, top } : x));
    } else if (d.kind === 'resize') {
      preview.current = props.boxes.map((x, i) => (i === d.index ? resize(d.start, d.handle, clampX(p.x), clampY(p.y)) : x));
    }
    draw();
  };

  const onPointerUp = () => {
    const d = drag.current;
    drag.current = undefined;
    if (!d) return;
    if (d.kind === 'draw') {
      const left = Math.min(d.x0, d.x1);
      const top = Math.min(d.y0, d.y1);
      const width = Math.abs(d.x1 - d.x0);
      const height = Math.abs(d.y1 - d.y0);
      // A click (no drag) only deselects; tiny boxes are accidents.
      if (width * view.current.scale >= 4 && height * view.current.scale >= 4) {
        const next = [...props.boxes, { label: props.currentLabel, left: round(left), top: round(top), width: round(width), height: round(height) }];
        props.onChange(next);
        props.onSelect(next.length - 1);
      }
    } else if ((d.kind === 'move' || d.kind === 'resize') && preview.current) {
      const moved = preview.current[d.index]!;
      const changed = JSON.stringify(moved) !== JSON.stringify(d.start);
      const next = preview.current.map((b) => ({ ...b, left: round(b.left), top: round(b.top), width: round(b.width), height: round(b.height) }));
      preview.current = undefined;
      if (changed) props.onChange(next);
    }
    preview.current = undefined;
    draw();
  };

  return (
    <div ref={wrapRef} className="apiary-boxtool">
      {failed ? (
        <div className="apiary-boxtool-error" role="alert">The image could not be loaded; reload the task.</div>
      ) : (
        <canvas
          ref={canvasRef}
          data-testid="label-canvas"
          aria-label={`Image to label, ${props.boxes.length} boxes`}
          role="img"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          onContextMenu={(e) => e.preventDefault()}
        />
      )}
    </div>
  );
}

const round = (x: number) => Math.round(x * 10) / 10;

function handlePoints(x: number, y: number, w: number, h: number): [number, number][] {
  return [
    [x, y],
    [x + w / 2, y],
    [x + w, y],
    [x + w, y + h / 2],
    [x + w, y + h],
    [x + w / 2, y + h],
    [x, y + h],
    [x, y + h / 2],
  ];
}

const HANDLE_NAMES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

function handleAt(b: Box, x: number, y: number, tol: number): string | undefined {
  const pts = handlePoints(b.left, b.top, b.width, b.height);
  for (let i = 0; i < pts.length; i++) {
    const [hx, hy] = pts[i]!;
    if (Math.abs(x - hx) <= tol && Math.abs(y - hy) <= tol) return HANDLE_NAMES[i];
  }
  return undefined;
}

function resize(b: Box, handle: string, x: number, y: number): Box {
  let x1 = b.left;
  let y1 = b.top;
  let x2 = b.left + b.width;
  let y2 = b.top + b.height;
  if (handle.includes('w')) x1 = x;
  if (handle.includes('e')) x2 = x;
  if (handle.includes('n')) y1 = y;
  if (handle.includes('s')) y2 = y;
  return { ...b, left: Math.min(x1, x2), top: Math.min(y1, y2), width: Math.max(1, Math.abs(x2 - x1)), height: Math.max(1, Math.abs(y2 - y1)) };
}
