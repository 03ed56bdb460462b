/** What a TrainingImage runs locally. */
export type ImageProgram =
  | { readonly kind: 'object-detection' }
  | { readonly kind: 'pytorch' }
  | { readonly kind: 'registered'; readonly command: readonly string[] };

const OBJECT_DETECTION = /^(?:[^/]+\/)*object-detection(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;
const PYTORCH = /^(?:[^/]+\/)*pytorch-training(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;

/**
 * Resolves a TrainingImage: SageMaker's object-detection images (any registry, any tag, or just
 * `object-detection`) → the built-in trainer; `…/pytorch-training:<tag>` → script mode with the
 * local PyTorch; otherwise an image registered with `apiary images register`.
 */
export function resolveImage(
  image: string,
  registered: readonly { image: string; command: readonly string[] }[],
): ImageProgram | undefined {
  const exact = registered.find((r) => r.image === image);
  if (exact) return { kind: 'registered', command: exact.command };
  if (OBJECT_DETECTION.test(image)) return { kind: 'object-detection' };
  if (PYTORCH.test(image)) return { kind: 'pytorch' };
  return undefined;
}

export function unknownImageMessage(
  image: string,
  registered: readonly { image: string }[],
): string {
  const list = registered.length ? registered.map((r) => r.image).join(', ') : 'none';
  return (
    `TrainingImage '${image}' is not known to Apiary. Apiary runs the built-in object-detection algorithm ` +
    `(<account>.dkr.ecr.<region>.amazonaws.com/object-detection:<tag>, or object-detection), SageMaker PyTorch ` +
    `framework images (.../pytorch-training:<tag>) in script mode, and images registered with ` +
    `'apiary images register <image> -- <command...>'. Registered images: ${list}`
  );
}
