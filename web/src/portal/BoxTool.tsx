import {
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
  type Ref,
} from 'react';
import { colorForClass, type LabeledBox } from '../../../src/shared/boxes.js';
import {
  fitView,
  handlePoints,
  HANDLE_PX,
  rectBetween,
  toScreen,
  zoomAt as zoomView,
} from './box-geometry.js';
import {
  pointerDown,
  pointerMove,
  pointerUp,
  type PointerInput,
  type Step,
  type ToolContext,
  type ToolState,
} from './box-interaction.js';

/** Label i gets colour i of the palette shared with the console and the CLI. */
export const colorOf = (labels: readonly string[], label: string) =>
  colorForClass(Math.max(0, labels.indexOf(label)));

export interface BoxToolHandle {
  fit(): void;
  zoom(factor: number): void;
}

/**
 * The bounding-box tool: one canvas draws the image and every box (200 boxes on a 4000×3000 image
 * stay smooth: one redraw per animation frame, no DOM per box). Coordinates are image pixels.
 * Mouse: drag on empty space draws a box with the current label; drag a box to move it; drag a
 * handle of the selected box to resize; wheel zooms around the pointer; right/middle drag or
 * Space + drag pans.
 */
export default function BoxTool(props: {
  imageUrl: string;
  boxes: readonly LabeledBox[];
  labels: readonly string[];
  currentLabel: string;
  selected: number | undefined;
  readOnly?: boolean;
  onSelect(index: number | undefined): void;
  /** Called once per finished gesture (draw, move, resize): one undo step each. */
  onChange(boxes: readonly LabeledBox[]): void;
  onImageSize(size: { width: number; height: number }): void;
  handle?: Ref<BoxToolHandle>;
}) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const [image, setImage] = useState<HTMLImageElement>();
  const [failed, setFailed] = useState(false);
  // The gesture state lives in a ref: pointer moves redraw the canvas without a React render.
  const tool = useRef<ToolState>({ view: { scale: 1, ox: 0, oy: 0 } });
  const space = useRef(false);
  const frame = useRef(0);
  const [, setTick] = useState(0);
  const latest = useRef(props);
  useLayoutEffect(() => {
    latest.current = props;
  });

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
      const { view, drag, preview } = tool.current;
      const { scale, ox, oy } = view;
      const dpr = window.devicePixelRatio || 1;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#16191f';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = scale < 2;
      ctx.drawImage(image, ox, oy, image.naturalWidth * scale, image.naturalHeight * scale);
      const p = latest.current;
      const boxes = preview ?? p.boxes;
      boxes.forEach((b, i) => {
        const r = toScreen(view, b);
        const color = colorOf(p.labels, b.label);
        ctx.strokeStyle = color;
        ctx.lineWidth = i === p.selected ? 3 : 2;
        ctx.strokeRect(r.left, r.top, r.width, r.height);
        if (i === p.selected) {
          ctx.fillStyle = color + '33';
          ctx.fillRect(r.left, r.top, r.width, r.height);
          ctx.fillStyle = color;
          for (const [hx, hy] of handlePoints(r))
            ctx.fillRect(hx - HANDLE_PX / 2, hy - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
        }
      });
      if (drag?.kind === 'draw') {
        const r = toScreen(view, rectBetween(drag.from, drag.to));
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = colorOf(p.labels, p.currentLabel);
        ctx.lineWidth = 2;
        ctx.strokeRect(r.left, r.top, r.width, r.height);
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
    tool.current = {
      ...tool.current,
      view: fitView(
        { width: image.naturalWidth, height: image.naturalHeight },
        { width: w, height: h },
      ),
    };
    draw();
  }, [image, draw]);

  const zoomAt = useCallback(
    (factor: number, cx: number, cy: number) => {
      tool.current = { ...tool.current, view: zoomView(tool.current.view, factor, cx, cy) };
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
      if (
        e.code === 'Space' &&
        !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement)
      )
        space.current = true;
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

  const context = (): ToolContext => ({
    boxes: props.boxes,
    selected: props.selected,
    readOnly: props.readOnly ?? false,
    currentLabel: props.currentLabel,
    image: { width: image?.naturalWidth ?? 0, height: image?.naturalHeight ?? 0 },
  });
  const input = (e: React.PointerEvent): PointerInput => {
    const r = canvasRef.current!.getBoundingClientRect();
    return { sx: e.clientX - r.left, sy: e.clientY - r.top, button: e.button, pan: space.current };
  };
  const apply = (step: Step) => {
    tool.current = step.state;
    if (step.commit) props.onChange(step.commit);
    if (step.select) props.onSelect(step.select.index);
    draw();
  };

  const onPointerDown = (e: React.PointerEvent) => {
    if (!image) return;
    canvasRef.current!.setPointerCapture(e.pointerId);
    apply(pointerDown(tool.current, context(), input(e)));
  };
  const onPointerMove = (e: React.PointerEvent) => {
    if (!tool.current.drag || !image) return;
    apply(pointerMove(tool.current, context(), input(e)));
  };
  const onPointerUp = () => apply(pointerUp(tool.current, context()));

  return (
    <div ref={wrapRef} className="apiary-boxtool">
      {failed ? (
        <div className="apiary-boxtool-error" role="alert">
          The image could not be loaded; reload the task.
        </div>
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
