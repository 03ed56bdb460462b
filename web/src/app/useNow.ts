import { useEffect, useState } from 'react';

/**
 * The current time in epoch ms, refreshed every `everyMs` (default 10 s), for "5 minutes ago"
 * labels: reading the clock in an effect keeps rendering pure.
 */
export function useNow(everyMs = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}
