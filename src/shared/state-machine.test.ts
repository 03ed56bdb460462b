import { describe, expect, it } from 'vitest';
import { AppError, ErrorCodes } from './errors.js';
import { defineStateMachine, type TargetOf } from './state-machine.js';

const door = defineStateMachine(
  {
    Open: ['Closed'],
    Closed: ['Open', 'Locked'],
    Locked: ['Closed'],
    Demolished: [],
  } as const,
  { name: 'door' },
);

describe('defineStateMachine', () => {
  it('lists the states in table order and the terminal ones', () => {
    expect(door.states).toEqual(['Open', 'Closed', 'Locked', 'Demolished']);
    expect(door.terminalStates).toEqual(['Demolished']);
    expect(door.states.map((s) => door.isTerminal(s))).toEqual([false, false, false, true]);
  });

  it('allows exactly the transitions of the table, and no self-transition it does not list', () => {
    const allowed = door.states.flatMap((from) =>
      door.states.filter((to) => door.canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed).toEqual(['Open->Closed', 'Closed->Open', 'Closed->Locked', 'Locked->Closed']);
    expect(door.canTransition('Open', 'Open')).toBe(false);
  });

  it('answers targets and sources of a state', () => {
    expect(door.targets('Closed')).toEqual(['Open', 'Locked']);
    expect(door.targets('Demolished')).toEqual([]);
    expect(door.sources('Closed')).toEqual(['Open', 'Locked']);
    expect(door.sources('Demolished')).toEqual([]);
  });

  it('throws an internal error naming the machine, both states and what is allowed', () => {
    expect(() => door.assertTransition('Closed', 'Locked')).not.toThrow();
    let caught: unknown;
    try {
      door.assertTransition('Open', 'Locked');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe(ErrorCodes.Internal);
    expect((caught as AppError).message).toBe(
      'illegal door transition Open -> Locked: Open may only go to Closed',
    );
    expect((caught as AppError).context).toEqual({ machine: 'door', from: 'Open', to: 'Locked' });
    expect(() => door.assertTransition('Demolished', 'Open')).toThrow(
      'illegal door transition Demolished -> Open: Demolished is terminal',
    );
  });

  it('says so when a state read from outside (a database row) is not a state at all', () => {
    expect(door.isState('Locked')).toBe(true);
    expect(door.isState('Ajar')).toBe(false);
    expect(door.isState(3)).toBe(false);
    expect(() => door.assertTransition('Ajar' as 'Open', 'Closed')).toThrow(
      'illegal door transition Ajar -> Closed: Ajar is not a door state (Open, Closed, Locked, Demolished)',
    );
  });

  it('refuses a table whose target is not one of its states', () => {
    const bad = { A: ['B'], B: ['C'] } as unknown as { A: readonly ['B']; B: readonly ['A'] };
    expect(() => defineStateMachine(bad, { name: 'broken' })).toThrow(
      'broken state machine: B -> C names no state of the table',
    );
  });

  it('keeps the table frozen and typed: a target type is exactly the listed states', () => {
    const fromClosed: TargetOf<typeof door.table, 'Closed'>[] = ['Open', 'Locked'];
    expect(fromClosed.every((to) => door.canTransition('Closed', to))).toBe(true);
    expect(Object.isFrozen(door.table)).toBe(true);
    expect(Object.isFrozen(door.states)).toBe(true);
  });

  it('gives a checked move as data for code that writes it', () => {
    expect(door.transition('Closed', 'Locked')).toEqual({ from: 'Closed', to: 'Locked' });
    // @ts-expect-error Open -> Locked is not in the table: the compiler refuses it too.
    expect(() => door.transition('Open', 'Locked')).toThrow(
      'illegal door transition Open -> Locked',
    );
  });

  it('defaults the name used in messages to "state"', () => {
    const m = defineStateMachine({ A: ['B'], B: [] } as const);
    expect(() => m.assertTransition('B', 'A')).toThrow(
      'illegal state transition B -> A: B is terminal',
    );
  });
});
