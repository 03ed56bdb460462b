/** Injected randomness: a seeded source makes tuning runs and routing tests reproducible. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Mulberry32: small, fast, good enough for sampling (not for secrets). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export const mathRandom: Random = { next: () => Math.random() };
