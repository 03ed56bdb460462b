import type { InstructionBlock } from './portalApi.js';

/**
 * Instructions as plain blocks: text renders as text (React escapes it), images only from Apiary's
 * signed URLs or data: URIs. The job's HTML never reaches the page.
 */
export default function Instructions({ blocks }: { blocks: readonly InstructionBlock[] }) {
  if (blocks.length === 0) return null;
  return (
    <div className="apiary-instructions">
      {blocks.map((b, i) => {
        const cls = b.example ? `apiary-example-${b.example}` : undefined;
        if (b.kind === 'heading')
          return (
            <h4 key={i} className={cls}>
              {b.text}
            </h4>
          );
        if (b.kind === 'image') {
          const ok =
            b.src &&
            (b.src.startsWith('/_apiary/api/labeling/images/') ||
              /^data:image\/(png|jpeg|gif|webp);base64,/.test(b.src));
          return ok ? (
            <img
              key={i}
              className={cls}
              src={b.src}
              alt={b.text || (b.example ? `${b.example} example` : 'example')}
            />
          ) : null;
        }
        return (
          <p key={i} className={cls}>
            {b.text}
          </p>
        );
      })}
    </div>
  );
}
