import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import type { FlashbarProps } from '@cloudscape-design/components/flashbar';
import { errorMessage } from './api.js';

type Item = FlashbarProps.MessageDefinition;

interface Flash {
  readonly items: readonly Item[];
  error(err: unknown, header?: string): void;
  success(message: string): void;
  info(message: string): void;
  clear(): void;
}

const FlashContext = createContext<Flash | undefined>(undefined);
let nextId = 0;

export function FlashProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<Item[]>([]);
  const push = useCallback((item: Omit<Item, 'id' | 'dismissible' | 'onDismiss'>) => {
    const id = `flash-${++nextId}`;
    const dismiss = () => setItems((xs) => xs.filter((x) => x.id !== id));
    setItems((xs) => [
      ...xs.slice(-4),
      { ...item, id, dismissible: true, dismissLabel: 'Dismiss message', onDismiss: dismiss },
    ]);
    if (item.type === 'success' || item.type === 'info') setTimeout(dismiss, 8000);
  }, []);
  const value = useMemo<Flash>(
    () => ({
      items,
      error: (err, header) => push({ type: 'error', header, content: errorMessage(err) }),
      success: (content) => push({ type: 'success', content }),
      info: (content) => push({ type: 'info', content }),
      clear: () => setItems([]),
    }),
    [items, push],
  );
  return <FlashContext.Provider value={value}>{children}</FlashContext.Provider>;
}

export function useFlash(): Flash {
  const f = useContext(FlashContext);
  if (!f) throw new Error('useFlash outside FlashProvider');
  return f;
}
