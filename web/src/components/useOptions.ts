import { useEffect, useState } from 'react';
import { sagemaker } from '../app/api.js';

/** Names from a List* operation for a Select (the first 100, newest first). */
export function useResourceNames(
  listOp: string,
  resultKey: string,
  nameKey: string,
  extra: Record<string, unknown> = {},
): { names: string[]; loading: boolean } {
  const [names, setNames] = useState<string[]>([]);
  const [loading, setLoading] = useState(true);
  const extraKey = JSON.stringify(extra);
  useEffect(() => {
    let cancelled = false;
    sagemaker<Record<string, unknown>>(listOp, {
      MaxResults: 100,
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      ...(JSON.parse(extraKey) as object),
    })
      .then((out) => {
        if (!cancelled)
          setNames(
            ((out[resultKey] as Record<string, unknown>[] | undefined) ?? []).map((r) =>
              String(r[nameKey]),
            ),
          );
      })
      .catch(() => undefined)
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [listOp, resultKey, nameKey, extraKey]);
  return { names, loading };
}
