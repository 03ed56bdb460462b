import { AppError, ErrorCodes } from './errors.js';

/**
 * A table of allowed transitions: every state is a key, its value the states it may move to. A
 * state with no way out (`[]`) is terminal.
 */
export type TransitionTable<S extends string = string> = { readonly [K in S]: readonly S[] };

/** The states of a table. */
export type StateOf<T> = keyof T & string;

/** The states `from` may move to, as a type (a table defined `as const` keeps them exact). */
export type TargetOf<T, From extends keyof T> = T[From] extends readonly (infer S)[] ? S : never;

/** A typed state machine built from a transition table ({@link defineStateMachine}). */
export interface StateMachine<T extends TransitionTable<StateOf<T>>> {
  /** What the states belong to ("training job"), used in error messages. */
  readonly name: string;
  /** The table as given (frozen). */
  readonly table: T;
  /** Every state, in the table's order. */
  readonly states: readonly StateOf<T>[];
  /** The states with no way out. */
  readonly terminalStates: readonly StateOf<T>[];
  /** Whether `from → to` is in the table (a state never moves to itself unless the table says so). */
  canTransition(from: StateOf<T>, to: StateOf<T>): boolean;
  /** @throws AppError InternalFailure naming both states and what `from` allows (a bug, not user input). */
  assertTransition(from: StateOf<T>, to: StateOf<T>): void;
  /** Whether the state has no way out. */
  isTerminal(state: StateOf<T>): boolean;
  /** Whether a string (a database column, say) is one of the states. */
  isState(value: unknown): value is StateOf<T>;
  /** The states `from` may move to. */
  targets(from: StateOf<T>): readonly StateOf<T>[];
  /** The states that may move to `to` (for `UPDATE … WHERE status IN (…)`). */
  sources(to: StateOf<T>): readonly StateOf<T>[];
  /**
   * One allowed move as data, for code that writes it (`SET status = to WHERE status = from`): the
   * compiler refuses a pair the table does not list, and so does the run time.
   * @throws AppError InternalFailure when the table does not allow it.
   */
  transition<F extends StateOf<T>, To extends TargetOf<T, F> & StateOf<T>>(
    from: F,
    to: To,
  ): { readonly from: F; readonly to: To };
}

/**
 * Builds a state machine from a table of allowed transitions, e.g.
 * `defineStateMachine({ Open: ['Closed'], Closed: [] } as const, { name: 'door' })`. The type
 * checks that every target is a state of the table; at run time an unknown target throws too.
 * @throws Error when a target is not a key of the table.
 */
export function defineStateMachine<const T extends TransitionTable<StateOf<T>>>(
  table: T,
  options: { readonly name?: string } = {},
): StateMachine<T> {
  const name = options.name ?? 'state';
  const states = Object.keys(table) as StateOf<T>[];
  const allowed = new Map<string, ReadonlySet<string>>(
    states.map((s) => [s, new Set<string>(table[s])]),
  );
  for (const [from, targets] of allowed) {
    for (const to of targets) {
      if (!allowed.has(to)) {
        throw new Error(`${name} state machine: ${from} -> ${to} names no state of the table`);
      }
    }
  }
  const has = (value: unknown): value is StateOf<T> =>
    typeof value === 'string' && allowed.has(value);
  const canTransition = (from: StateOf<T>, to: StateOf<T>): boolean =>
    allowed.get(from)?.has(to) ?? false;
  const assertTransition = (from: StateOf<T>, to: StateOf<T>): void => {
    if (canTransition(from, to)) return;
    const targets = has(from) ? table[from] : undefined;
    const why = !targets
      ? `${String(from)} is not a ${name} state (${states.join(', ')})`
      : targets.length === 0
        ? `${from} is terminal`
        : `${from} may only go to ${targets.join(', ')}`;
    throw new AppError(
      ErrorCodes.Internal,
      `illegal ${name} transition ${String(from)} -> ${String(to)}: ${why}`,
      { context: { machine: name, from, to } },
    );
  };
  const terminalStates = states.filter((s) => table[s].length === 0);
  return Object.freeze({
    name,
    table: Object.freeze({ ...table }),
    states: Object.freeze(states),
    terminalStates: Object.freeze(terminalStates),
    canTransition,
    assertTransition,
    isTerminal: (state: StateOf<T>): boolean => terminalStates.includes(state),
    isState: has,
    targets: (from: StateOf<T>): readonly StateOf<T>[] => table[from] ?? [],
    sources: (to: StateOf<T>): readonly StateOf<T>[] =>
      states.filter((s) => allowed.get(s)!.has(to)),
    transition<F extends StateOf<T>, To extends TargetOf<T, F> & StateOf<T>>(from: F, to: To) {
      assertTransition(from, to);
      return Object.freeze({ from, to });
    },
  });
}
