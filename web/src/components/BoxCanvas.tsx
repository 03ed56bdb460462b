import { useEffect, useRef, useState } from 'react';
import { colorForClass, type Detection, type PixelBox } from '../../../src/shared/boxes.js';
import { detectionLabel, detectionRect, pixelBoxRect, type Rect } from '../lib/boxes.js';

interface Drawn {
  readonly rect: Rect;
  readonly color: string;
  readonly label: string;
}

/**
 * An image with boxes drawn over it on a canvas: normalized detections (an endpoint's answer) or
 * Ground Truth pixel boxes (a manifest's labels, in the pixels of `imageSize`).
 */
export default function BoxCanvas(props: {
  src: string;
  alt: string;
  detections?: readonly Detection[];
  pixelBoxes?: readonly PixelBox[];
  imageSize?: { width: number; height: number };
  classNames?: Readonly<Record<string, string>>;
  maxWidth?: number;
  /** How much a small image may be enlarged to fill maxWidth; default 1 (never). */
  upscale?: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [image, setImage] = useState<HTMLImageElement>();
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const img = new Image();
    let live = true;
    img.onload = () => live && setImage(img);
    img.onerror = () => live && setFailed(true);
    setFailed(false);
    setImage(undefined);
    img.src = props.src;
    return () => {
      live = false;
    };
  }, [props.src]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !image) return;
    const maxWidth = props.maxWidth ?? 720;
    const scale = Math.min(props.upscale ?? 1, maxWidth / image.naturalWidth) || 1;
    const w = Math.round(image.naturalWidth * scale);
    const h = Math.round(image.naturalHeight * scale);
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.drawImage(image, 0, 0, w, h);
    const names = props.classNames ?? {};
    const drawn: Drawn[] = [
      ...(props.detections ?? []).map((d) => ({
        rect: detectionRect(d, w, h),
        color: colorForClass(d.classId),
        label: detectionLabel(d, names),
      })),
      ...(props.pixelBoxes ?? []).map((b) => ({
        rect: pixelBoxRect(
          b,
          props.imageSize ?? { width: image.naturalWidth, height: image.naturalHeight },
          w,
          h,
        ),
        color: colorForClass(b.classId),
        label: detectionLabel(b, names),
      })),
    ];
    ctx.lineWidth = Math.max(2, Math.round(w / 300));
    ctx.font = `${Math.max(12, Math.round(w / 45))}px sans-serif`;
    ctx.textBaseline = 'top';
    for (const d of drawn) {
      ctx.strokeStyle = d.color;
      ctx.strokeRect(d.rect.x, d.rect.y, d.rect.w, d.rect.h);
      const tw = ctx.measureText(d.label).width + 8;
      const th = parseInt(ctx.font, 10) + 6;
      const ty = d.rect.y - th >= 0 ? d.rect.y - th : d.rect.y;
      ctx.fillStyle = d.color;
      ctx.fillRect(d.rect.x, ty, tw, th);
      ctx.fillStyle = '#ffffff';
      ctx.fillText(d.label, d.rect.x + 4, ty + 3);
    }
  }, [
    image,
    props.detections,
    props.pixelBoxes,
    props.imageSize,
    props.classNames,
    props.maxWidth,
    props.upscale,
  ]);

  if (failed) return <div role="alert">The image could not be loaded.</div>;
  const count = (props.detections?.length ?? 0) + (props.pixelBoxes?.length ?? 0);
  return (
    <canvas
      ref={canvas}
      role="img"
      aria-label={`${props.alt}, ${count} box${count === 1 ? '' : 'es'} drawn`}
      data-boxes={count}
      className="apiary-box-canvas"
    />
  );
}
